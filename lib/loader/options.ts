/**
 * Loader options, their defaults and validation.
 *
 * @module
 */
import type { AutotuneProfileName } from "../autotune/profiles.ts";
import type { ManifestStore } from "../manifest_store/store.ts";
import type { ImageFolderLoaderOptions } from "./image_folder.ts";

/** Options shared by {@linkcode DataLoader} and `ImageFolderLoader`. */
export interface LoaderOptions {
  /** Samples per batch (default 64). */
  batchSizeSamples?: number;
  /** Hard cap on bytes reserved by batches being built or held (default 256 MiB). */
  maxInflightBytes?: number;
  /** Max batches ready and waiting for the consumer (default 8). */
  maxQueueBatches?: number;
  /** Max batches being fetched/decoded at once (default 4). */
  prefetchBatches?: number;
  /** RSS fail-fast cap (default: env `MX8_MAX_PROCESS_RSS_BYTES`, else a fraction of machine/cgroup memory). */
  maxProcessRssBytes?: number;
  /** Shuffle by block, then within block (default false). */
  shuffle?: boolean;
  /** Shuffle seed (default 0). */
  seed?: number | bigint;
  /** Epoch (default 0); another epoch reorders. */
  epoch?: number;
  /** First sample id to read (default 0). */
  startId?: number;
  /** One past the last sample id to read (default: all). */
  endId?: number;
  /** Resume token from `checkpoint()`. */
  resumeFrom?: string;
  /**
   * Autotune prefetch/queue/want: `true` (profile from `MX8_AUTOTUNE_PROFILE`,
   * default balanced) or `{ profile, tickMs }` (default: on when env `MX8_AUTOTUNE=1`).
   */
  autotune?: boolean | { profile?: AutotuneProfileName; tickMs?: number };
  /** Structured event log (default: one JSON line per event on stderr). */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Manifest store (default: `MX8_MANIFEST_STORE` or `~/.mx8/manifests`). */
  manifestStore?: ManifestStore;
  /** Max concurrent reads/GETs per batch (default 16). */
  fetchConcurrency?: number;
  /** Samples per shuffle block (default 65536). */
  shuffleBlockSize?: number;
  /** Distributed mode: the coordinator URL, or HA replicas as `URL,URL,…` (calls follow the leader). */
  coordUrl?: string;
  /** Distributed mode: the job id. */
  jobId?: string;
  /**
   * Distributed mode: this node's id (default: `<hostname>-<k>`, the lowest
   * slot of this job free on this host: stable across restarts, so a crashed
   * node re-run on the same host rejoins its rank).
   */
  nodeId?: string;
  /** Distributed mode: live leases to hold (default 1). */
  want?: number;
  /** Distributed mode: bearer token (default: env `MX8_AUTH_TOKEN`). */
  authToken?: string;
  /**
   * Distributed mode: fail with `CoordinatorUnreachableError` after the
   * coordinator was unreachable this long, in ms (default 60000; 0 = retry forever).
   */
  connectTimeoutMs?: number;
  /**
   * Distributed mode: fail with `BarrierTimeoutError` when the membership
   * barrier is not met this long after registering, in ms (default 600000; 0 = wait forever).
   */
  barrierTimeoutMs?: number;
}

/** Defaults of the distributed-mode waits of library loaders. */
export const DISTRIBUTED_DEFAULTS: Readonly<{
  connectTimeoutMs: number;
  barrierTimeoutMs: number;
}> = {
  connectTimeoutMs: 60_000,
  barrierTimeoutMs: 600_000,
};

/** Resolved numeric knobs. */
export interface ResolvedKnobs {
  /** Samples per batch. */
  batchSizeSamples: number;
  /** Inflight cap. */
  maxInflightBytes: number;
  /** Ready-queue bound. */
  maxQueueBatches: number;
  /** Building bound. */
  prefetchBatches: number;
}

/** Default knobs (spec §4 example). */
export const LOADER_DEFAULTS: Readonly<ResolvedKnobs> = {
  batchSizeSamples: 64,
  maxInflightBytes: 256 * 2 ** 20,
  maxQueueBatches: 8,
  prefetchBatches: 4,
};

function positiveInt(
  name: string,
  v: number | undefined,
  dflt: number,
): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < 1) {
    throw new RangeError(
      `Loader option ${name} must be a positive integer, got ${v}`,
    );
  }
  return x;
}

/**
 * Validates knobs and fills defaults.
 *
 * @param o Caller options.
 * @returns The knobs.
 * @throws {RangeError} On a non-positive or non-integer knob.
 */
export function resolveKnobs(o: LoaderOptions): ResolvedKnobs {
  return {
    batchSizeSamples: positiveInt(
      "batchSizeSamples",
      o.batchSizeSamples,
      LOADER_DEFAULTS.batchSizeSamples,
    ),
    maxInflightBytes: positiveInt(
      "maxInflightBytes",
      o.maxInflightBytes,
      LOADER_DEFAULTS.maxInflightBytes,
    ),
    maxQueueBatches: positiveInt(
      "maxQueueBatches",
      o.maxQueueBatches,
      LOADER_DEFAULTS.maxQueueBatches,
    ),
    prefetchBatches: positiveInt(
      "prefetchBatches",
      o.prefetchBatches,
      LOADER_DEFAULTS.prefetchBatches,
    ),
  };
}

/** Largest delay `setTimeout` honours (ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX = Number.MAX_SAFE_INTEGER;

/** `[option, min, max]` of every integer loader option. */
const LOADER_INTS: readonly [keyof LoaderOptions, number, number][] = [
  ["batchSizeSamples", 1, 2 ** 24],
  ["maxInflightBytes", 1, MAX],
  ["maxQueueBatches", 1, 65_536],
  ["prefetchBatches", 1, 65_536],
  ["maxProcessRssBytes", 1, MAX],
  ["epoch", 0, MAX],
  ["startId", 0, MAX],
  ["endId", 0, MAX],
  ["fetchConcurrency", 1, 1024],
  ["shuffleBlockSize", 1, MAX],
  ["want", 1, 1024],
  ["connectTimeoutMs", 0, MAX_TIMER_MS],
  ["barrierTimeoutMs", 0, MAX_TIMER_MS],
];

/** `[option, min, max]` of every integer image option. */
const IMAGE_INTS: readonly [keyof ImageFolderLoaderOptions, number, number][] =
  [
    ["decodeThreads", 0, 1024],
    ["maxPixels", 1, MAX],
  ];

/**
 * Checks one integer option: a number (TypeError otherwise), an integer in
 * `min..max` (RangeError otherwise); the message names the option, the value
 * and the range.
 */
function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== "number") {
    throw new TypeError(
      `Loader option ${name} must be an integer in ${min}..${max}, got ${
        describe(v)
      }`,
    );
  }
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(
      `Loader option ${name} must be an integer in ${min}..${max}, got ${v}`,
    );
  }
}

function checkEnum(name: string, v: unknown, allowed: readonly string[]) {
  if (v === undefined || allowed.includes(v as string)) return;
  throw new TypeError(
    `Loader option ${name} must be one of ${
      allowed.map((a) => `"${a}"`).join(", ")
    }, got ${describe(v)}`,
  );
}

function describe(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : typeof v === "bigint" ? `${v}n` : (
    JSON.stringify(v) ?? String(v)
  );
}

/**
 * Checks every numeric (and enumerated) option of a loader before anything
 * starts, so a bad value fails at construction instead of hanging later.
 *
 * @param o Caller options.
 * @returns `o`, unchanged.
 * @throws {TypeError} For a value of the wrong type or an unknown enum value.
 * @throws {RangeError} For a number outside its range (the message names
 *   the option, the value and the range).
 *
 * @example A zero fetch concurrency is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateLoaderOptions } from "./options.ts";
 *
 * assert.throws(
 *   () => validateLoaderOptions({ fetchConcurrency: 0 }),
 *   /fetchConcurrency must be an integer in 1\.\.1024, got 0/,
 * );
 * ```
 */
export function validateLoaderOptions<T extends LoaderOptions>(o: T): T {
  for (const [name, min, max] of LOADER_INTS) checkInt(name, o[name], min, max);
  if (o.startId !== undefined && o.endId !== undefined && o.startId > o.endId) {
    throw new RangeError(
      `Loader option startId must not exceed endId, got startId ${o.startId} > endId ${o.endId}`,
    );
  }
  const seed = o.seed;
  if (
    seed !== undefined && typeof seed !== "bigint" &&
    !(typeof seed === "number" && Number.isSafeInteger(seed))
  ) {
    throw new RangeError(
      `Loader option seed must be a safe integer or a bigint, got ${
        describe(seed)
      }`,
    );
  }
  if (typeof o.autotune === "object" && o.autotune !== null) {
    checkInt("autotune.tickMs", o.autotune.tickMs, 1, MAX_TIMER_MS);
  }
  return o;
}

/**
 * Checks the image options of `ImageFolderLoader` (then
 * {@linkcode validateLoaderOptions} checks the rest).
 *
 * @param o Caller options.
 * @returns `o`, unchanged.
 * @throws {TypeError} For a wrong type or an unknown `onDecodeError` / `decodeBackend`.
 * @throws {RangeError} For a number outside its range.
 *
 * @example A typo in onDecodeError is refused, not taken as "skip"
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateImageOptions } from "./options.ts";
 *
 * assert.throws(
 *   () => validateImageOptions({ onDecodeError: "Error" as "error" }),
 *   /onDecodeError must be one of "error", "skip", got "Error"/,
 * );
 * ```
 */
export function validateImageOptions<T extends ImageFolderLoaderOptions>(
  o: T,
): T {
  for (const [name, min, max] of IMAGE_INTS) checkInt(name, o[name], min, max);
  const hw = o.resizeHw;
  if (
    hw !== undefined &&
    !(Array.isArray(hw) && hw.length === 2 &&
      hw.every((v) => Number.isInteger(v) && v >= 1 && v <= 65_535))
  ) {
    throw new RangeError(
      `Loader option resizeHw must be [height, width], two integers in 1..65535, got ${
        describe(hw)
      }`,
    );
  }
  checkEnum("onDecodeError", o.onDecodeError, ["error", "skip"]);
  checkEnum("decodeBackend", o.decodeBackend, ["native", "sharp", "auto"]);
  if (o.toFloat !== undefined && typeof o.toFloat !== "boolean") {
    throw new TypeError(
      `Loader option toFloat must be true or false, got ${describe(o.toFloat)}`,
    );
  }
  return o;
}
