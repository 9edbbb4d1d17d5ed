/**
 * The MX8 coordinator (spec §6): a job (pinned dataset + lease state
 * machine + maintenance tick + event log), its Connect service, and the HTTP
 * server that also answers `GET /metrics` and `GET /healthz`.
 *
 * @example Serve a job in-process
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCoordinatorClient } from "../rpc/client.ts";
 * import { CoordinatorJob, serveCoordinator } from "./mod.ts";
 *
 * using job = new CoordinatorJob({
 *   jobId: "j", manifestHash: "h", manifestBytes: new Uint8Array(), totalSamples: 4,
 *   datasetRoot: "/data", classes: [], worldSize: 1, leaseTtlMs: 1000, heartbeatIntervalMs: 100,
 * });
 * await using server = await serveCoordinator(job, { port: 0 });
 * using client = createCoordinatorClient(server.url, { httpVersion: "1.1" });
 * const reg = await client.registerNode({ jobId: "j", nodeId: "a" });
 * assert.equal(reg.jobReady, true);
 * ```
 *
 * @module
 */

export * from "./convert.ts";
export * from "./events.ts";
export * from "./job.ts";
export * from "./manifest_chunks.ts";
export * from "./metrics.ts";
export * from "./server.ts";
export * from "./service.ts";
