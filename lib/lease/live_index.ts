/**
 * An index of the live leases' ranges for the lease state machine: sorted by
 * start, so checking a new range against every live lease is a binary search
 * instead of a scan, and a count of live leases per node, so a grant does
 * not walk every lease to learn how many the caller holds. With thousands
 * of nodes each holding a lease, both scans made every RequestLease cost
 * O(live leases).
 *
 * @module
 */
import type { SampleRange } from "./range_set.ts";

/** A live lease as the index needs it. */
export interface IndexedLease extends SampleRange {
  /** Lease id, for messages. */
  readonly leaseId: string;
  /** Holder. */
  readonly nodeId: string;
}

/**
 * Live leases sorted by `startId` (they never overlap, so their ends are
 * sorted too) and counted per node.
 *
 * @example Add, find an overlap, remove
 * ```ts
 * import assert from "node:assert/strict";
 * import { LiveIndex } from "./live_index.ts";
 *
 * const index = new LiveIndex();
 * index.add({ leaseId: "l1", nodeId: "a", startId: 0, endId: 10 });
 * assert.equal(index.overlapping({ startId: 5, endId: 20 })?.leaseId, "l1");
 * assert.equal(index.overlapping({ startId: 10, endId: 20 }), undefined);
 * assert.equal(index.heldBy("a"), 1);
 * index.remove({ leaseId: "l1", nodeId: "a", startId: 0, endId: 10 });
 * assert.equal(index.heldBy("a"), 0);
 * ```
 */
export class LiveIndex {
  #byStart: IndexedLease[] = [];
  #held = new Map<string, number>();

  /** Number of indexed leases. */
  get size(): number {
    return this.#byStart.length;
  }

  /**
   * Live leases held by a node.
   *
   * @param nodeId The node.
   * @returns The count (0 for an unknown node).
   */
  heldBy(nodeId: string): number {
    return this.#held.get(nodeId) ?? 0;
  }

  /**
   * The live lease sharing a sample with `range`, if any.
   *
   * @param range A non-empty range.
   * @returns The first overlapping lease by start, or undefined.
   */
  overlapping(range: SampleRange): IndexedLease | undefined {
    const i = this.#firstEndingAfter(range.startId);
    const lease = this.#byStart[i];
    return lease !== undefined && lease.startId < range.endId
      ? lease
      : undefined;
  }

  /**
   * Indexes a lease.
   *
   * @param lease A lease overlapping no indexed one.
   * @throws {Error} If it overlaps an indexed lease (a bug in the caller).
   */
  add(lease: IndexedLease): void {
    const i = this.#firstEndingAfter(lease.startId);
    const next = this.#byStart[i];
    if (next !== undefined && next.startId < lease.endId) {
      throw new Error(
        `Lease invariant broken: [${lease.startId}, ${lease.endId}) overlaps live lease "${next.leaseId}"`,
      );
    }
    this.#byStart.splice(i, 0, lease);
    this.#held.set(lease.nodeId, this.heldBy(lease.nodeId) + 1);
  }

  /**
   * Drops an indexed lease.
   *
   * @param lease The lease as added (same range and holder).
   * @throws {Error} If it is not indexed (a bug in the caller).
   */
  remove(lease: IndexedLease): void {
    const i = this.#firstEndingAfter(lease.startId);
    if (this.#byStart[i]?.leaseId !== lease.leaseId) {
      throw new Error(
        `Lease invariant broken: live lease "${lease.leaseId}" is not indexed`,
      );
    }
    this.#byStart.splice(i, 1);
    const held = this.heldBy(lease.nodeId) - 1;
    if (held > 0) this.#held.set(lease.nodeId, held);
    else this.#held.delete(lease.nodeId);
  }

  /**
   * The indexed leases in start order.
   *
   * @returns The leases (the index's own objects; do not mutate).
   */
  inStartOrder(): readonly IndexedLease[] {
    return this.#byStart;
  }

  #firstEndingAfter(id: number): number {
    const a = this.#byStart;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid].endId > id) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
