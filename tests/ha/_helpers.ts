// Shared by the lib/ha tests: a job configuration and a view as etcd keys.
import type { KeyValue } from "../../lib/etcd/types.ts";
import { LAYOUT_VERSION, type MetaRecord } from "../../lib/ha/layout.ts";
import type { View } from "../../lib/ha/view.ts";
import type { LeaseStateOptions } from "../../lib/lease/state.ts";

/** A job configuration and its `meta`. */
export function job(
  overrides: Partial<LeaseStateOptions> = {},
): { options: LeaseStateOptions; meta: MetaRecord } {
  const options: LeaseStateOptions = {
    jobId: "j1",
    totalSamples: 100,
    blockSize: 7,
    worldSize: 3,
    leaseTtlMs: 1000,
    shuffle: true,
    seed: 42n,
    epoch: 1,
    manifestHash: "h",
    leaseIdPrefix: "run1-",
    checkInvariants: true,
    ...overrides,
  };
  const meta: MetaRecord = {
    v: LAYOUT_VERSION,
    jobId: options.jobId,
    manifestHash: options.manifestHash,
    totalSamples: options.totalSamples,
    blockSize: options.blockSize!,
    seed: String(options.seed),
    epoch: options.epoch,
    shuffle: options.shuffle!,
    resumed: (options.completed ?? []).map((r) => ({ ...r })),
    ready: false,
    worldSize: options.worldSize,
  };
  return { options, meta };
}

/** The keys a committed view leaves in etcd. */
export function viewKvs(view: View, revision = 1): KeyValue[] {
  return [...view].map(([key, e]) => ({
    key,
    value: e.text,
    createRevision: revision,
    modRevision: revision,
    version: 1,
    lease: "0",
  }));
}

/**
 * A small deterministic PRNG (mulberry32) for randomized histories.
 *
 * @param seed Seed.
 * @returns `next(n)`: an integer in [0, n).
 */
export function rng(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
