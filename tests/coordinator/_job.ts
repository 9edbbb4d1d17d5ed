/**
 * Test helper: a coordinator job on a fake clock, served in memory.
 *
 * @module
 */
import {
  type Client,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import type { CoordinatorEvent } from "../../lib/coordinator/events.ts";
import {
  CoordinatorJob,
  type CoordinatorJobOptions,
} from "../../lib/coordinator/job.ts";
import { coordinatorRoutes } from "../../lib/coordinator/service.ts";
import { manifestHash, serializeManifest } from "../../lib/manifest/tsv.ts";

/** A job, its fake clock, its events and an in-memory client. */
export interface TestJob {
  /** The job. */
  job: CoordinatorJob;
  /** A client routed to it in memory. */
  client: Client<typeof Coordinator>;
  /** Events logged so far. */
  events: CoordinatorEvent[];
  /** Advances the fake clock and runs one maintenance tick. */
  advance(ms: number): void;
}

/**
 * Makes the canonical manifest of `n` samples.
 *
 * @param n Samples.
 * @returns Bytes and hash.
 */
export function makeManifest(n: number): { bytes: Uint8Array; hash: string } {
  const rows = Array.from({ length: n }, (_, i) => ({
    sampleId: i,
    location: `cls${i % 2}/${i}.jpg`,
  }));
  const bytes = serializeManifest(rows);
  return { bytes, hash: manifestHash(bytes) };
}

/**
 * Creates a job of `totalSamples` samples on a fake clock starting at 1000.
 *
 * @param options Overrides.
 * @param interceptors Router interceptors (e.g. auth).
 * @returns The job and its client.
 */
export function testJob(
  options: Partial<CoordinatorJobOptions> = {},
  interceptors: Interceptor[] = [],
): TestJob {
  let clock = 1000;
  const events: CoordinatorEvent[] = [];
  const total = options.totalSamples ?? 10;
  const manifest = makeManifest(total);
  const job = new CoordinatorJob({
    jobId: "j",
    manifestHash: manifest.hash,
    manifestBytes: manifest.bytes,
    totalSamples: total,
    datasetRoot: "/data",
    classes: ["cls0", "cls1"],
    worldSize: 2,
    blockSize: 4,
    leaseTtlMs: 1000,
    heartbeatIntervalMs: 100,
    now: () => clock,
    onEvent: (e) => events.push(e),
    checkInvariants: true,
    ...options,
  });
  const transport = createRouterTransport(coordinatorRoutes(job), {
    router: { interceptors },
  });
  return {
    job,
    client: createClient(Coordinator, transport),
    events,
    advance(ms) {
      clock += ms;
      job.tick();
    },
  };
}
