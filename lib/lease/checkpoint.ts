/**
 * The resume checkpoint token of a job.
 *
 * @module
 */

import { LeaseError } from "./errors.ts";
import { RangeSet, type SampleRange } from "./range_set.ts";

const PREFIX = "mx8ckpt1.";

/** What a resume checkpoint holds. */
export interface LeaseCheckpoint {
  /** Pinned manifest hash of the job's dataset snapshot. */
  manifestHash: string;
  /** Epoch the completed ranges belong to. */
  epoch: number;
  /** Job seed. */
  seed: bigint;
  /** Samples in the manifest. */
  totalSamples: number;
  /** Completed ranges, sorted and merged. */
  completed: SampleRange[];
}

/** What {@linkcode parseCheckpoint} checks the token against; omitted fields are not checked. */
export interface ParseCheckpointOptions {
  /** The manifest hash the job runs on. */
  manifestHash?: string;
  /** The epoch the job runs. */
  epoch?: number;
  /** The job seed. */
  seed?: bigint | number;
  /** Samples in the job's manifest. */
  totalSamples?: number;
}

/**
 * Encodes a checkpoint as an opaque, URL-safe token:
 * `mx8ckpt1.` followed by base64url (no padding) of a JSON object.
 *
 * @param checkpoint The checkpoint; `completed` is merged before encoding.
 * @returns The token.
 * @throws {RangeError} If a completed range is malformed or ranges overlap.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeCheckpoint, parseCheckpoint } from "./checkpoint.ts";
 *
 * const token = encodeCheckpoint({
 *   manifestHash: "ab12", epoch: 1, seed: 7n, totalSamples: 10,
 *   completed: [{ startId: 0, endId: 4 }, { startId: 4, endId: 6 }],
 * });
 * const back = parseCheckpoint(token, { manifestHash: "ab12" });
 * assert.deepEqual(back.completed, [{ startId: 0, endId: 6 }]);
 * assert.equal(back.seed, 7n);
 * ```
 */
export function encodeCheckpoint(checkpoint: LeaseCheckpoint): string {
  const merged = new RangeSet(checkpoint.completed).ranges();
  const json = JSON.stringify({
    manifest_hash: checkpoint.manifestHash,
    epoch: checkpoint.epoch,
    seed: checkpoint.seed.toString(),
    total_samples: checkpoint.totalSamples,
    completed: merged.map((r) => [r.startId, r.endId]),
  });
  const bytes = new TextEncoder().encode(json);
  return PREFIX + bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * Parses and validates a checkpoint token.
 *
 * @param token A token from {@linkcode encodeCheckpoint}.
 * @param options Job facts the token must match.
 * @returns The checkpoint, with `completed` sorted and merged.
 * @throws {LeaseError} `invalid_argument` if the token is malformed;
 * `failed_precondition` if it belongs to another manifest, epoch, seed or size.
 *
 * @example A token of another manifest is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeCheckpoint, parseCheckpoint } from "./checkpoint.ts";
 *
 * const token = encodeCheckpoint({
 *   manifestHash: "ab12", epoch: 0, seed: 0n, totalSamples: 1, completed: [],
 * });
 * assert.throws(() => parseCheckpoint(token, { manifestHash: "cd34" }), {
 *   code: "failed_precondition",
 * });
 * ```
 */
export function parseCheckpoint(
  token: string,
  options: ParseCheckpointOptions = {},
): LeaseCheckpoint {
  const checkpoint = decode(token);
  const mismatch = (what: string, want: unknown, got: unknown) =>
    new LeaseError(
      "failed_precondition",
      `Checkpoint belongs to another ${what}: token has "${got}", job has "${want}"`,
    );
  if (
    options.manifestHash !== undefined &&
    options.manifestHash !== checkpoint.manifestHash
  ) {
    throw mismatch(
      "manifest",
      options.manifestHash,
      checkpoint.manifestHash,
    );
  }
  if (options.epoch !== undefined && options.epoch !== checkpoint.epoch) {
    throw mismatch("epoch", options.epoch, checkpoint.epoch);
  }
  if (
    options.seed !== undefined && BigInt(options.seed) !== checkpoint.seed
  ) {
    throw mismatch("seed", options.seed, checkpoint.seed);
  }
  if (
    options.totalSamples !== undefined &&
    options.totalSamples !== checkpoint.totalSamples
  ) {
    throw mismatch(
      "sample count",
      options.totalSamples,
      checkpoint.totalSamples,
    );
  }
  return checkpoint;
}

function decode(token: string): LeaseCheckpoint {
  const bad = (detail: string, cause?: unknown) =>
    new LeaseError("invalid_argument", `Invalid checkpoint token: ${detail}`, {
      cause,
    });
  if (typeof token !== "string" || !token.startsWith(PREFIX)) {
    throw bad(`expected prefix "${PREFIX}"`);
  }
  let body: unknown;
  try {
    const bytes = Uint8Array.fromBase64(token.slice(PREFIX.length), {
      alphabet: "base64url",
    });
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw bad("not base64url JSON", cause);
  }
  if (typeof body !== "object" || body === null) throw bad("not an object");
  const { manifest_hash, epoch, seed, total_samples, completed } =
    body as Record<
      string,
      unknown
    >;
  if (typeof manifest_hash !== "string" || manifest_hash === "") {
    throw bad("missing manifest_hash");
  }
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) {
    throw bad("bad epoch");
  }
  if (typeof seed !== "string" || !/^\d+$/.test(seed)) throw bad("bad seed");
  if (!Number.isSafeInteger(total_samples) || (total_samples as number) < 0) {
    throw bad("bad total_samples");
  }
  if (!Array.isArray(completed)) throw bad("bad completed ranges");
  const set = new RangeSet();
  for (const pair of completed) {
    if (
      !Array.isArray(pair) || pair.length !== 2 ||
      !Number.isSafeInteger(pair[0]) || !Number.isSafeInteger(pair[1]) ||
      pair[0] < 0 || pair[1] <= pair[0] || pair[1] > (total_samples as number)
    ) {
      throw bad(`bad completed range ${JSON.stringify(pair)}`);
    }
    try {
      set.add({ startId: pair[0], endId: pair[1] });
    } catch (cause) {
      throw bad(`overlapping completed range ${JSON.stringify(pair)}`, cause);
    }
  }
  return {
    manifestHash: manifest_hash,
    epoch: epoch as number,
    seed: BigInt(seed),
    totalSamples: total_samples as number,
    completed: set.ranges(),
  };
}
