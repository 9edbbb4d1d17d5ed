/**
 * When an agent renews a lease waiting in its queue (a ReportProgress at an
 * unchanged cursor): only once its expiry draws near, not on every
 * heartbeat. With the next lease prefetched, a lease waits in the queue for
 * a good part of every lease; renewing it on every beat would add up to one
 * RPC per heartbeat per node.
 *
 * @module
 */

/**
 * Whether a queued lease must be renewed at this heartbeat: it is, when it
 * would otherwise be older than half the TTL by the next one.
 *
 * @param ageMs Time since the lease was granted or last renewed.
 * @param ttlMs The job's lease TTL.
 * @param heartbeatMs The heartbeat interval.
 * @returns `true` to renew now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renewalDue } from "./renewal.ts";
 *
 * assert.equal(renewalDue(1000, 10_000, 1000), false);
 * assert.equal(renewalDue(4000, 10_000, 1000), true);
 * ```
 */
export function renewalDue(
  ageMs: number,
  ttlMs: number,
  heartbeatMs: number,
): boolean {
  return ageMs + heartbeatMs >= ttlMs / 2;
}
