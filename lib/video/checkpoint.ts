/**
 * Resume tokens of the video loader: the pinned manifest, the plan's
 * options, seed and epoch, and how many clips of the plan were delivered.
 *
 * @module
 */

import { CheckpointError } from "../loader/checkpoint.ts";
import { sha256Hex } from "../util/sha256.ts";
import type { ClipPlanOptions } from "./clip_plan.ts";

/** What a clip checkpoint holds. */
export interface ClipCheckpoint {
  /** Token format version. */
  v: 1;
  /** The pinned manifest. */
  manifestHash: string;
  /** Fingerprint of the plan options (clip, stride, frameStep, fps, sampling, clipsPerVideo, shuffle, seed, epoch). */
  plan: string;
  /** Clips of the plan already delivered. */
  position: number;
}

const PREFIX = "mx8clip1.";

/**
 * The fingerprint of the options that shape a clip plan.
 *
 * @param o Plan options.
 * @returns A hex digest: equal options, equal plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planFingerprint } from "./checkpoint.ts";
 * assert.equal(planFingerprint({ clip: 8 }), planFingerprint({ clip: 8, stride: undefined }));
 * assert.notEqual(planFingerprint({ clip: 8 }), planFingerprint({ clip: 8, seed: 1 }));
 * ```
 */
export function planFingerprint(o: ClipPlanOptions): string {
  const key = [
    o.clip,
    o.stride ?? "",
    o.frameStep ?? "",
    o.fps ?? "",
    o.sampling ?? "regular",
    o.clipsPerVideo ?? "",
    o.shuffle ?? false,
    String(o.seed ?? 0),
    o.epoch ?? 0,
  ].join("\0");
  return sha256Hex(key).slice(0, 16);
}

/**
 * Encodes a checkpoint as an opaque string.
 *
 * @param c The checkpoint.
 * @returns The token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeClipCheckpoint, encodeClipCheckpoint } from "./checkpoint.ts";
 * const c = { v: 1 as const, manifestHash: "ab", plan: "cd", position: 16 };
 * assert.deepEqual(decodeClipCheckpoint(encodeClipCheckpoint(c)), c);
 * ```
 */
export function encodeClipCheckpoint(c: ClipCheckpoint): string {
  const json = new TextEncoder().encode(JSON.stringify(c));
  return PREFIX +
    btoa(String.fromCharCode(...json)).replaceAll("+", "-").replaceAll(
      "/",
      "_",
    );
}

/**
 * Decodes a token from {@linkcode encodeClipCheckpoint}.
 *
 * @param token The token.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the token is malformed.
 */
export function decodeClipCheckpoint(token: string): ClipCheckpoint {
  if (!token.startsWith(PREFIX)) {
    throw new CheckpointError(
      `resumeFrom is not an MX8 video checkpoint (expected a token from the video loader's checkpoint())`,
    );
  }
  try {
    const b64 = token.slice(PREFIX.length).replaceAll("-", "+").replaceAll(
      "_",
      "/",
    );
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const c = JSON.parse(new TextDecoder().decode(bytes)) as ClipCheckpoint;
    if (
      c.v !== 1 || typeof c.manifestHash !== "string" ||
      typeof c.plan !== "string" || !Number.isSafeInteger(c.position) ||
      c.position < 0
    ) throw new Error("bad fields");
    return c;
  } catch {
    throw new CheckpointError(
      `resumeFrom token is corrupt: pass the exact string checkpoint() returned`,
    );
  }
}
