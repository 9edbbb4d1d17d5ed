/**
 * The coordinator's garbage collections over a window, from V8's
 * `--trace-gc-nvp` lines (`bench:coordinator --gc-stats`): bytes allocated
 * on the JavaScript heap, young-generation collections (scavenges) and
 * full collections (mark-compacts) with their pauses. Allocation per RPC
 * and pause lengths do not depend on the machine's other load the way
 * latency does, so they compare runs taken at different times.
 *
 * @module
 */

/** One collection. */
export interface GcEvent {
  /** Milliseconds since the isolate started. */
  atMs: number;
  /** `s` (scavenge), `mc` (mark-compact), `mmc` (minor mark-compact), … */
  kind: string;
  /** Main-thread pause (ms). */
  pauseMs: number;
  /** Bytes allocated since the previous collection. */
  allocated: number;
  /** Bytes promoted to the old generation by this collection. */
  promoted: number;
}

/** What {@linkcode summarizeGc} reports. */
export interface GcSummary {
  /** Bytes allocated in the window. */
  allocatedBytes: number;
  /** Bytes promoted to the old generation in the window. */
  promotedBytes: number;
  /** Scavenges: count, median and longest pause (ms). */
  scavenges: [number, number, number];
  /** Mark-compacts: count and longest pause (ms). */
  fullGcs: [number, number];
  /** Sum of all pauses (ms). */
  pauseMs: number;
}

const LINE = /^\[[^\]]*\]\s+(\d+(?:\.\d+)?) ms: GC: (\{.*\})\s*$/;

/**
 * Parses one `--trace-gc-nvp` line.
 *
 * @param line A line of the coordinator's stdout.
 * @returns The collection, or undefined for any other line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGcLine } from "./_coord_gc.ts";
 * const e = parseGcLine('[1:0x1:0]   25 ms: GC: {"pause":0.4,"gc":"s","allocated":100,"promoted":0}');
 * assert.deepEqual(e, { atMs: 25, kind: "s", pauseMs: 0.4, allocated: 100, promoted: 0 });
 * assert.equal(parseGcLine("mx8 coordinator ready"), undefined);
 * ```
 */
export function parseGcLine(line: string): GcEvent | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(m[2]);
  } catch {
    return undefined;
  }
  return {
    atMs: Number(m[1]),
    kind: String(f.gc),
    pauseMs: Number(f.pause) || 0,
    allocated: Number(f.allocated) || 0,
    promoted: Number(f.promoted) || 0,
  };
}

/**
 * Sums the collections whose time falls in `[fromMs, toMs)`.
 *
 * @param events Collections, in order.
 * @param fromMs Window start (ms since the isolate started).
 * @param toMs Window end.
 * @returns The summary.
 */
export function summarizeGc(
  events: readonly GcEvent[],
  fromMs: number,
  toMs: number,
): GcSummary {
  const inWindow = events.filter((e) => e.atMs >= fromMs && e.atMs < toMs);
  const young = inWindow.filter((e) => e.kind === "s" || e.kind === "mmc")
    .map((e) => e.pauseMs).sort((a, b) => a - b);
  const full = inWindow.filter((e) => e.kind === "mc").map((e) => e.pauseMs);
  return {
    allocatedBytes: inWindow.reduce((n, e) => n + e.allocated, 0),
    promotedBytes: inWindow.reduce((n, e) => n + e.promoted, 0),
    scavenges: [
      young.length,
      young.length ? young[Math.floor((young.length - 1) / 2)] : 0,
      young.length ? young[young.length - 1] : 0,
    ],
    fullGcs: [full.length, full.length ? Math.max(...full) : 0],
    pauseMs: inWindow.reduce((n, e) => n + e.pauseMs, 0),
  };
}
