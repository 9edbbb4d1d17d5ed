/**
 * The `mx8.v1.Coordinator` service: a thin adapter from the wire messages to
 * {@linkcode CoordinatorJob}, with lease refusals mapped to Connect codes.
 *
 * @module
 */
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
import { toConnectError } from "../rpc/errors.ts";
import { toLeaseMessage, toSafeNumber, toSnapshotMessage } from "./convert.ts";
import type { CoordinatorJob } from "./job.ts";
import { manifestChunks } from "./manifest_chunks.ts";

/** Manifest schema version the coordinator serves. */
const SCHEMA_VERSION = 0;

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toConnectError(err);
  }
}

/**
 * Runs a mutating call. Without HA: as before. With HA: only the leader
 * serves it (followers answer FailedPrecondition naming the leader), and
 * its change is committed to etcd before the answer. A call that changed
 * nothing durable (a heartbeat, cursor progress) answers at once, even
 * while other calls' changes wait for etcd.
 */
function write<T>(job: CoordinatorJob, fn: () => T): T | Promise<T> {
  const ha = job.ha;
  if (ha === undefined) return guard(fn);
  guard(() => ha.gateWrite());
  const before = job.durableVersion;
  let result: T;
  try {
    result = guard(fn);
  } catch (err) {
    // Even a refused call may have changed state (rejoin, a requeue).
    if (job.durableVersion === before) throw err;
    return ha.commit().then(() => {
      throw err;
    }, (e) => {
      throw toConnectError(e);
    });
  }
  if (job.durableVersion === before) return result;
  return ha.commit().then(() => result, (e) => {
    throw toConnectError(e);
  });
}

/** Runs a read; a follower first refreshes its state from etcd. */
function read<T>(job: CoordinatorJob, fn: () => T): T | Promise<T> {
  const ha = job.ha;
  if (ha === undefined) return guard(fn);
  return ha.beforeRead().then(() => guard(fn), (err) => {
    throw toConnectError(err);
  });
}

/**
 * Creates the service implementation for one job.
 *
 * Errors: `InvalidArgument` for an empty job id, node id or lease id, `want`
 * 0, a cursor outside the lease or a malformed resume token;
 * `FailedPrecondition` for another job's id, an unregistered or departed
 * node, an unmet barrier, a frozen membership, another node's lease or a
 * cursor moving backwards; `NotFound` for an unknown or finished lease and
 * a manifest hash other than the pinned one.
 *
 * @param job The job.
 * @returns The implementation (register it with {@linkcode coordinatorRoutes}).
 *
 * @example Call the service in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient, createRouterTransport } from "@connectrpc/connect";
 * import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
 * import { CoordinatorJob } from "./job.ts";
 * import { coordinatorRoutes } from "./service.ts";
 *
 * const job = new CoordinatorJob({
 *   jobId: "j", manifestHash: "h", manifestBytes: new Uint8Array(), totalSamples: 4,
 *   datasetRoot: "/data", classes: [], worldSize: 1, leaseTtlMs: 1000, heartbeatIntervalMs: 100,
 * });
 * const client = createClient(Coordinator, createRouterTransport(coordinatorRoutes(job)));
 * const res = await client.registerNode({ jobId: "j", nodeId: "a" });
 * assert.equal(res.jobReady, true);
 * assert.equal(res.totalSamples, 4n);
 * ```
 */
export function createCoordinatorService(
  job: CoordinatorJob,
): ServiceImpl<typeof Coordinator> {
  const checkJob = (jobId: string) => {
    if (jobId === "") {
      throw new ConnectError(
        `Job id must not be empty: pass "${job.jobId}"`,
        Code.InvalidArgument,
      );
    }
    if (jobId !== job.jobId) {
      throw new ConnectError(
        `Wrong job: this coordinator serves "${job.jobId}", not "${jobId}"`,
        Code.FailedPrecondition,
      );
    }
  };
  const checkManifest = (jobId: string, hash: string) => {
    checkJob(jobId);
    if (hash !== "" && hash !== job.manifestHash) {
      throw new ConnectError(
        `Manifest not found: sha256:${hash}; job "${job.jobId}" is pinned to sha256:${job.manifestHash}`,
        Code.NotFound,
      );
    }
  };
  return {
    registerNode: (req) =>
      write(job, () => {
        checkJob(req.jobId);
        const r = job.register(
          req.nodeId,
          req.caps,
          req.resumeFrom || undefined,
        );
        return {
          assignedRank: r.assignedRank,
          worldSize: r.worldSize,
          manifestHash: job.manifestHash,
          heartbeatIntervalMs: job.heartbeatIntervalMs,
          leaseTtlMs: job.leaseTtlMs,
          registeredNodes: r.registeredNodes,
          jobReady: r.jobReady,
          datasetRoot: job.datasetRoot,
          classes: [...job.classes],
          totalSamples: BigInt(job.totalSamples),
        };
      }),
    heartbeat: (req) =>
      write(job, () => {
        checkJob(req.jobId);
        job.heartbeat(req.nodeId, req.stats);
        return {};
      }),
    requestLease: (req) =>
      write(job, () => {
        checkJob(req.jobId);
        const grant = job.requestLease(req.nodeId, req.want);
        return {
          leases: grant.leases.map(toLeaseMessage),
          waitMs: grant.waitMs,
          jobDrained: grant.jobDrained,
        };
      }),
    reportProgress: (req) =>
      write(job, () => {
        checkJob(req.jobId);
        job.reportProgress(
          req.nodeId,
          req.leaseId,
          toSafeNumber("Cursor", req.cursor),
          toSafeNumber("Delivered samples", req.deliveredSamples),
          toSafeNumber("Delivered bytes", req.deliveredBytes),
        );
        return {};
      }),
    getManifest: (req) =>
      guard(() => {
        checkManifest(req.jobId, req.manifestHash);
        return {
          manifestBytes: job.manifestBytes,
          schemaVersion: SCHEMA_VERSION,
        };
      }),
    async *getManifestStream(req) {
      guard(() => checkManifest(req.jobId, req.manifestHash));
      for (const data of manifestChunks(job.manifestBytes)) {
        yield { data, schemaVersion: SCHEMA_VERSION };
      }
    },
    getJobSnapshot: (req) =>
      read(job, () => {
        checkJob(req.jobId);
        return toSnapshotMessage(job.snapshot());
      }),
    getResumeCheckpoint: (req) =>
      read(job, () => {
        checkJob(req.jobId);
        return {
          checkpoint: job.checkpoint(),
          manifestHash: job.manifestHash,
          epoch: job.epoch,
        };
      }),
  };
}

/**
 * Routes that serve the Coordinator service for one job, for
 * `connectFetchAdapter({ routes })` or `createRouterTransport(routes)`.
 *
 * @param job The job.
 * @returns The route registration function.
 */
export function coordinatorRoutes(
  job: CoordinatorJob,
): (router: ConnectRouter) => void {
  const impl = createCoordinatorService(job);
  return (router) => {
    router.service(Coordinator, impl);
  };
}
