/**
 * Loader options, their defaults and validation.
 *
 * @module
 */
import type { AutotuneProfileName } from "../autotune/profiles.ts";
import type { ManifestStore } from "../manifest_store/store.ts";

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
  /** Distributed mode: the coordinator URL (the coordinator pins the dataset). */
  coordUrl?: string;
  /** Distributed mode: the job id. */
  jobId?: string;
  /** Distributed mode: this node's id (default: hostname-pid). */
  nodeId?: string;
  /** Distributed mode: live leases to hold (default 1). */
  want?: number;
  /** Distributed mode: bearer token (default: env `MX8_AUTH_TOKEN`). */
  authToken?: string;
}

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
