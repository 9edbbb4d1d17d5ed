/**
 * Mix resume tokens: per-source positions plus a fingerprint of what fixes
 * the mixed order, and the comparison that names what changed. Pure.
 *
 * @module
 */
import { CheckpointError } from "../loader/checkpoint.ts";
import type { SchedulerState } from "./scheduler.ts";
import type { WeightPoint } from "./weight_curve.ts";

/** What fixes a mixed order (besides the sources' own orders). */
export interface MixFingerprint {
  /** Sources in order: name and pinned manifest hash. */
  sources: { name: string; manifestHash: string }[];
  /** Normalized weight points, `at` in samples. */
  points: WeightPoint[];
  /** Interleaving seed (decimal). */
  seed: string;
  /** Interleaving epoch. */
  epoch: number;
  /** `batch` or `sample`. */
  granularity: "batch" | "sample";
  /** Samples per unit of the schedule (batch size, or 1). */
  samplesPerUnit: number;
}

/** Where one source stood. */
export interface MixSourcePosition {
  /** Source name. */
  name: string;
  /** Its loader checkpoint token (empty for a dropped source). */
  token: string;
  /** Restarts so far (`cycle`). */
  repetitions: number;
  /** Whether it has run out at least once. */
  ranOut: boolean;
}

/** A mix checkpoint. */
export interface MixCheckpoint {
  /** Format version. */
  v: 1;
  /** The inputs. */
  fingerprint: MixFingerprint;
  /** The scheduler's position. */
  scheduler: SchedulerState;
  /** Per-source positions, in source order. */
  sources: MixSourcePosition[];
}

const PREFIX = "mx8mix1.";

/**
 * Encodes a mix checkpoint as an opaque, URL-safe token.
 *
 * @param c The checkpoint.
 * @returns The token.
 */
export function encodeMixCheckpoint(c: MixCheckpoint): string {
  const bytes = new TextEncoder().encode(JSON.stringify(c));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return PREFIX +
    btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes a token from {@linkcode encodeMixCheckpoint}.
 *
 * @param token The token.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the token is not a mix checkpoint or is corrupt.
 */
export function decodeMixCheckpoint(token: string): MixCheckpoint {
  if (!token.startsWith(PREFIX)) {
    throw new CheckpointError(
      `resumeFrom is not an MX8 mix checkpoint (expected a token from mix(...).checkpoint())`,
    );
  }
  try {
    const b64 = token.slice(PREFIX.length).replaceAll("-", "+")
      .replaceAll("_", "/");
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const c = JSON.parse(new TextDecoder().decode(bytes)) as MixCheckpoint;
    if (
      c.v !== 1 || !Array.isArray(c.sources) || !c.fingerprint ||
      !Array.isArray(c.fingerprint.sources) ||
      c.sources.length !== c.fingerprint.sources.length ||
      !Number.isSafeInteger(c.scheduler?.n)
    ) throw new Error("bad fields");
    return c;
  } catch {
    throw new CheckpointError(
      `mix resumeFrom token is corrupt: pass the exact string checkpoint() returned`,
    );
  }
}

/** What changed between a checkpoint's fingerprint and the resuming mix's. */
export interface FingerprintDiff {
  /** Changes no resume can bridge (sources, manifests, granularity). */
  fixed: string[];
  /** Changes `allowMixChange` re-plans (weights/schedule, seed, epoch). */
  mixture: string[];
}

/**
 * Compares fingerprints and names every difference.
 *
 * @param was The checkpoint's.
 * @param now The resuming mix's.
 * @returns The differences (both lists empty: same inputs).
 */
export function diffFingerprints(
  was: MixFingerprint,
  now: MixFingerprint,
): FingerprintDiff {
  const fixed: string[] = [], mixture: string[] = [];
  const wasNames = was.sources.map((s) => s.name).join(", ");
  const nowNames = now.sources.map((s) => s.name).join(", ");
  if (wasNames !== nowNames) {
    fixed.push(`sources were [${wasNames}], now [${nowNames}]`);
  } else {
    was.sources.forEach((s, i) => {
      const h = now.sources[i].manifestHash;
      if (s.manifestHash !== h) {
        fixed.push(
          `source "${s.name}" manifest was ${s.manifestHash}, now ${h} (open it @sha256:${s.manifestHash})`,
        );
      }
    });
  }
  if (was.granularity !== now.granularity) {
    fixed.push(`granularity was ${was.granularity}, now ${now.granularity}`);
  } else if (was.samplesPerUnit !== now.samplesPerUnit) {
    fixed.push(
      `samples per unit (batch size) was ${was.samplesPerUnit}, now ${now.samplesPerUnit}`,
    );
  }
  if (fixed.length === 0) {
    const names = now.sources.map((s) => s.name);
    if (!samePoints(was.points, now.points)) {
      mixture.push(
        `weights were ${describe(was.points, names)}, now ${
          describe(now.points, names)
        }`,
      );
    }
  }
  if (was.seed !== now.seed) {
    mixture.push(`seed was ${was.seed}, now ${now.seed}`);
  }
  if (was.epoch !== now.epoch) {
    mixture.push(`epoch was ${was.epoch}, now ${now.epoch}`);
  }
  return { fixed, mixture };
}

function samePoints(a: WeightPoint[], b: WeightPoint[]): boolean {
  return a.length === b.length &&
    a.every((p, i) =>
      p.at === b[i].at && p.weights.length === b[i].weights.length &&
      p.weights.every((w, j) => Math.abs(w - b[i].weights[j]) < 1e-12)
    );
}

function describe(points: WeightPoint[], names: string[]): string {
  const one = (p: WeightPoint) =>
    p.weights.map((w, i) => `${names[i]}=${+w.toFixed(6)}`).join(" ");
  if (points.length === 1) return `{${one(points[0])}}`;
  return points.map((p) => `@${p.at}{${one(p)}}`).join(" → ");
}
