/**
 * The nodes panel of the full-screen TUI: header and one row per node.
 *
 * @module
 */
import { usedOfCap } from "./_format.ts";
import { Line, type Style } from "./_line.ts";
import type { NodeView } from "./model.ts";

const NODE_COLS = [
  ["RANK", 5],
  ["HB_AGE_MS", 10],
  ["STATUS", 9],
  ["INFLIGHT/CAP", 14],
  ["RAM_HWM/CAP", 14],
  ["RSS%", 6],
  ["WANT", 5],
  ["PREF", 5],
  ["QUEUE", 6],
  ["PRESS", 6],
  ["DECISION", 10],
  ["DELIVERED", 10],
] as const;

/** Width of the NODE_ID column. */
export function nodeIdWidth(nodes: NodeView[]): number {
  return Math.min(24, Math.max(8, ...nodes.map((n) => n.nodeId.length + 2)));
}

/** The column header line. */
export function nodeHeader(idw: number): Line {
  const l = new Line().add(" " + "NODE_ID".padEnd(idw), "bold");
  for (const [name, w] of NODE_COLS) l.add(name.padEnd(w), "bold");
  return l.add("MIX target/actual", "bold");
}

function cell(text: string, w: number): string {
  const t = text.length >= w ? text.slice(0, w - 1) : text;
  return t.padEnd(w);
}

/** One node's row; a stale or departed node is red and says so. */
export function nodeLine(n: NodeView, idw: number): Line {
  const bad = n.status !== "ok";
  const rowStyle: Style | undefined = bad ? "redBold" : undefined;
  const l = new Line().add(" " + cell(n.nodeId, idw), rowStyle);
  l.add(cell(n.rank < 0 ? "-" : String(n.rank), 5), rowStyle);
  l.add(cell(String(n.hbAgeMs), 10), bad ? "redBold" : "green");
  l.add(
    cell(n.status === "ok" ? "ok" : n.status.toUpperCase(), 9),
    bad ? "redBold" : "green",
  );
  if (!n.hasStats) {
    return l.add("(no stats reported yet)", "dim");
  }
  l.add(cell(usedOfCap(n.inflightBytes, n.inflightCapBytes), 14));
  l.add(
    cell(usedOfCap(n.ramHwmBytes, n.ramCapBytes), 14),
    n.rssPressure ? "redBold" : undefined,
  );
  l.add(
    cell(
      n.rssRatio === undefined
        ? "-"
        : `${Math.round(n.rssRatio * 100)}${n.rssPressure ? "!" : ""}`,
      6,
    ),
    n.rssPressure ? "redBold" : undefined,
  );
  l.add(cell(String(n.want), 5));
  l.add(cell(String(n.prefetch), 5));
  l.add(cell(String(n.queue), 6));
  l.add(
    cell(n.autotune ? n.pressure.toFixed(2) : "-", 6),
    n.pressure >= 0.6 ? "yellow" : undefined,
  );
  l.add(cell(n.autotune ? n.decision || "-" : "off", 10), "dim");
  l.add(cell(String(n.deliveredSamples), 10));
  if (n.mix.length > 0) l.add(mixCell(n.mix), "dim");
  return l;
}

/** `web 0.70/0.69 books 0.30/0.31` (a dropped source: `books out`). */
export function mixCell(mix: NodeView["mix"]): string {
  return mix.map((m) =>
    m.dropped
      ? `${m.name} out`
      : `${m.name} ${m.target.toFixed(2)}/${m.actual.toFixed(2)}`
  ).join(" ");
}

/** Picks at most `max` nodes to show, problem nodes first, in rank order. */
export function pickNodes(nodes: NodeView[], max: number): NodeView[] {
  if (nodes.length <= max) return nodes;
  const bad = nodes.filter((n) => n.status !== "ok" || n.rssPressure);
  const chosen = new Set(bad.slice(0, max));
  for (const n of nodes) {
    if (chosen.size >= max) break;
    chosen.add(n);
  }
  return nodes.filter((n) => chosen.has(n));
}
