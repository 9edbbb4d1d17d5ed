/**
 * The lease state machine of an MX8 job (spec §6): a membership barrier,
 * blocks dealt round-robin to ranks, leases with a TTL, progress cursors,
 * requeue of expired remainders, drain detection and resume checkpoints.
 * Pure: no I/O, no clocks; every call takes the server time `nowMs`.
 *
 * @example Lease, expire, requeue, drain
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaseState } from "./mod.ts";
 *
 * const state = new LeaseState({
 *   jobId: "j", totalSamples: 4, blockSize: 4, worldSize: 1,
 *   leaseTtlMs: 1000, seed: 1n, epoch: 0, manifestHash: "h",
 * });
 * state.register("n0", {}, 0);
 * const [lease] = state.requestLease("n0", 1, 0).leases;
 * state.reportProgress("n0", lease.leaseId, 1, 1, 10, 100);
 * state.heartbeat("n0", {}, 1050); // alive, but the lease got no progress
 * const events = state.tick(1100);
 * assert.ok(events.some((e) => e.type === "range_requeued"));
 * const [again] = state.requestLease("n0", 1, 1200).leases;
 * assert.deepEqual([again.startId, again.endId], [1, 4]);
 * state.reportProgress("n0", again.leaseId, 4, 3, 30, 1300);
 * assert.equal(state.jobDrained, true);
 * ```
 *
 * @module
 */

export * from "./blocks.ts";
export * from "./checkpoint.ts";
export * from "./errors.ts";
export * from "./prng.ts";
export * from "./range_set.ts";
export * from "./state.ts";
export * from "./types.ts";
