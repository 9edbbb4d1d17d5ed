/**
 * Conversions between the lease state machine's values (numbers, camelCase)
 * and the `mx8.v1` wire messages (uint64 as `bigint`).
 *
 * @module
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type GetJobSnapshotResponseSchema,
  type Lease as LeaseMessage,
  LeaseSchema,
  type NodeCaps,
  type NodeStats,
} from "../gen/mx8/v1/coordinator_pb.ts";
import type { JobSnapshot, Lease } from "../lease/types.ts";
import type { HaMetrics } from "./metrics.ts";

/**
 * Converts a wire `uint64` to a safe integer.
 *
 * @param what Field name, for the message.
 * @param value The wire value.
 * @returns The number.
 * @throws {ConnectError} `InvalidArgument` above `Number.MAX_SAFE_INTEGER`.
 *
 * @example Convert a cursor
 * ```ts
 * import assert from "node:assert/strict";
 * import { toSafeNumber } from "./convert.ts";
 *
 * assert.equal(toSafeNumber("cursor", 42n), 42);
 * assert.throws(() => toSafeNumber("cursor", 2n ** 60n));
 * ```
 */
export function toSafeNumber(what: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < 0n) {
    throw new ConnectError(
      `${what} out of range: ${value} (max ${Number.MAX_SAFE_INTEGER})`,
      Code.InvalidArgument,
    );
  }
  return Number(value);
}

/**
 * Converts a lease to its wire message.
 *
 * @param lease The lease.
 * @returns The message.
 *
 * @example Convert a lease
 * ```ts
 * import assert from "node:assert/strict";
 * import { toLeaseMessage } from "./convert.ts";
 *
 * const msg = toLeaseMessage({
 *   leaseId: "l1", nodeId: "a", startId: 0, endId: 8, epoch: 0, seed: 7n,
 *   cursor: 3, expiresUnixTimeMs: 1000,
 * });
 * assert.equal(msg.range?.endId, 8n);
 * assert.equal(msg.cursor, 3n);
 * ```
 */
export function toLeaseMessage(lease: Lease): LeaseMessage {
  return create(LeaseSchema, {
    leaseId: lease.leaseId,
    nodeId: lease.nodeId,
    range: {
      startId: BigInt(lease.startId),
      endId: BigInt(lease.endId),
      epoch: lease.epoch,
      seed: lease.seed,
    },
    cursor: BigInt(lease.cursor),
    expiresUnixTimeMs: BigInt(lease.expiresUnixTimeMs),
  });
}

/**
 * Converts a job snapshot to the GetJobSnapshot response.
 *
 * @param snap The snapshot.
 * @returns The response fields.
 *
 * @example Convert an empty snapshot
 * ```ts
 * import assert from "node:assert/strict";
 * import { toSnapshotMessage } from "./convert.ts";
 *
 * const msg = toSnapshotMessage({
 *   jobId: "j", manifestHash: "h", worldSize: 1, registeredNodes: 0, jobReady: false,
 *   jobDrained: false, activeLeases: 0, availableRanges: 0, requeuedRanges: 0,
 *   nodes: [], liveLeases: [], totalSamples: 4, completedSamples: 0, serverTimeUnixMs: 5,
 *   counters: {
 *     register_total: 0, heartbeat_total: 0, request_lease_total: 0, leases_granted_total: 0,
 *     leases_expired_total: 0, ranges_requeued_total: 0, progress_total: 0,
 *     active_leases: 0, registered_nodes: 0,
 *   },
 * });
 * assert.equal(msg.totalSamples, 4n);
 * assert.equal(msg.serverTimeUnixMs, 5n);
 * ```
 */
export function toSnapshotMessage(
  snap: JobSnapshot<NodeCaps | undefined, NodeStats | undefined> & {
    ha?: HaMetrics;
    haLeaderUrl?: string;
  },
): MessageInitShape<typeof GetJobSnapshotResponseSchema> {
  const c = snap.counters;
  return {
    ...(snap.ha === undefined ? {} : {
      haLeaderUrl: snap.haLeaderUrl ?? "",
      haTerm: BigInt(snap.ha.ha_term),
      haFailovers: snap.ha.ha_failovers,
    }),
    jobId: snap.jobId,
    manifestHash: snap.manifestHash,
    worldSize: snap.worldSize,
    registeredNodes: snap.registeredNodes,
    jobReady: snap.jobReady,
    jobDrained: snap.jobDrained,
    activeLeases: snap.activeLeases,
    availableRanges: snap.availableRanges,
    requeuedRanges: snap.requeuedRanges,
    nodes: snap.nodes.map((node) => ({
      nodeId: node.nodeId,
      rank: node.rank,
      lastHeartbeatUnixTimeMs: BigInt(node.lastHeartbeatUnixTimeMs),
      caps: node.caps,
      stats: node.stats,
      departed: node.departed,
    })),
    liveLeases: snap.liveLeases.map(toLeaseMessage),
    counters: {
      registerTotal: BigInt(c.register_total),
      heartbeatTotal: BigInt(c.heartbeat_total),
      requestLeaseTotal: BigInt(c.request_lease_total),
      leasesGrantedTotal: BigInt(c.leases_granted_total),
      leasesExpiredTotal: BigInt(c.leases_expired_total),
      rangesRequeuedTotal: BigInt(c.ranges_requeued_total),
      progressTotal: BigInt(c.progress_total),
      activeLeases: BigInt(c.active_leases),
      registeredNodes: BigInt(c.registered_nodes),
    },
    totalSamples: BigInt(snap.totalSamples),
    completedSamples: BigInt(snap.completedSamples),
    serverTimeUnixMs: BigInt(Math.trunc(snap.serverTimeUnixMs)),
  };
}
