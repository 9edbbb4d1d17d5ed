/**
 * Test helper: a scripted fake Coordinator service (only GetJobSnapshot and
 * GetManifestStream), in memory via `createRouterTransport` or on a real
 * h2c port via `Deno.serve` + `connectFetchAdapter`, plus a small mutable job
 * model that produces snapshots on the coordinator's clock.
 *
 * @module
 */
import { listenHttp } from "../../lib/rpc/serve.ts";
import { connectFetchAdapter } from "../../lib/rpc/fetch_adapter.ts";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import {
  Coordinator,
  type GetJobSnapshotResponse,
  GetJobSnapshotResponseSchema,
  ManifestChunkSchema,
} from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import type { TuiClient } from "../../lib/tui/poller.ts";

/** What the fake answers. */
export interface FakeScript {
  /** Returns the next snapshot; throw a ConnectError to fail the call. */
  snapshot(jobId: string): GetJobSnapshotResponse;
  /** Manifest bytes streamed in chunks, or an error to fail the stream. */
  manifest?(): Uint8Array[] | Error;
  /** Bearer token every call must carry, if any. */
  token?: string;
}

/** Calls the fake received. */
export interface FakeCalls {
  /** GetJobSnapshot calls. */
  snapshot: number;
  /** GetManifestStream calls. */
  manifest: number;
}

/**
 * Registers the fake service on a router.
 *
 * @param script What to answer.
 * @param calls Counters to bump.
 * @returns The routes function.
 */
export function fakeRoutes(
  script: FakeScript,
  calls: FakeCalls = { snapshot: 0, manifest: 0 },
): (router: ConnectRouter) => void {
  const checkAuth = (header: Headers) => {
    if (
      script.token !== undefined &&
      header.get("authorization") !== `Bearer ${script.token}`
    ) {
      throw new ConnectError("bad token", Code.Unauthenticated);
    }
  };
  return (router) =>
    router.service(Coordinator, {
      getJobSnapshot(req, ctx) {
        calls.snapshot++;
        checkAuth(ctx.requestHeader);
        return script.snapshot(req.jobId);
      },
      async *getManifestStream(_req, ctx) {
        calls.manifest++;
        checkAuth(ctx.requestHeader);
        const got = script.manifest?.() ??
          new ConnectError("no manifest", Code.NotFound);
        if (got instanceof Error) throw got;
        for (const data of got) {
          yield create(ManifestChunkSchema, { data, schemaVersion: 0 });
        }
      },
    });
}

/**
 * An in-memory client of the fake (no ports).
 *
 * @param script What to answer.
 * @param calls Counters to bump.
 * @returns A client.
 */
export function fakeClient(
  script: FakeScript,
  calls?: FakeCalls,
): TuiClient {
  return createClient(
    Coordinator,
    createRouterTransport(fakeRoutes(script, calls)),
  );
}

/** A fake coordinator listening on 127.0.0.1. */
export interface FakeServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Calls received. */
  calls: FakeCalls;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
  /** Same as close. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the fake on one port serving HTTP/1.1 and h2c, like the real
 * coordinator (`createCoordinatorClient` streams over HTTP/1.1, unary over h2c).
 *
 * @param script What to answer.
 * @param port Port to bind (default 0: any free port).
 * @returns The running server.
 */
export async function startFakeCoordinator(
  script: FakeScript,
  port = 0,
): Promise<FakeServer> {
  const calls: FakeCalls = { snapshot: 0, manifest: 0 };
  // The same HTTP/1.1 + h2c listener as the real coordinator.
  const listener = await listenHttp(
    connectFetchAdapter({ routes: fakeRoutes(script, calls) }),
    { hostname: "127.0.0.1", port },
  );
  const close = () => listener.close();
  return {
    url: listener.url,
    calls,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Canonical manifest text with `n` rows: `cat/NNNN.jpg` for even ids,
 * `dog/NNNN.jpg` for odd ones, byte ranges in one shard.
 *
 * @param n Rows.
 * @returns The TSV text.
 */
export function manifestText(n: number): string {
  const lines = ["schema_version=0"];
  for (let i = 0; i < n; i++) {
    const cls = i % 2 === 0 ? "cat" : "dog";
    lines.push(
      `${i}\tshards/shard-00000.tar\t${512 + i * 1536}\t${
        1000 + i
      }\tmx8:vision:imagefolder;label_id=${i % 2};src=${cls}/${
        String(i).padStart(4, "0")
      }.jpg`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Splits text into byte chunks of at most `size`.
 *
 * @param text Text.
 * @param size Chunk size.
 * @returns UTF-8 chunks.
 */
export function chunks(text: string, size = 1000): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    out.push(bytes.subarray(i, i + size));
  }
  return out;
}

/** One node of a {@linkcode FakeJob}. */
export interface FakeNode {
  /** Rank. */
  rank: number;
  /** Whether it heartbeats (its last heartbeat follows the clock). */
  alive: boolean;
  /** Last heartbeat when it stopped (coordinator clock). */
  lastHeartbeat: number;
  /** Process RSS bytes it reports. */
  rss: number;
  /** Whether it reported stats. */
  stats: boolean;
  /** Departed flag. */
  departed: boolean;
  /** The mix it runs, if any: its sources' stats. */
  mix?: {
    name: string;
    targetShare: number;
    actualShare: number;
    dropped: boolean;
  }[];
}

/** A mutable job that renders snapshots; the clock is injectable. */
export class FakeJob {
  /** Job id. */
  jobId = "job-1";
  /** Pinned hash. */
  manifestHash = "ab".repeat(32);
  /** Samples in the manifest. */
  totalSamples = 5000;
  /** Samples in fully completed ranges; snapshots add the live cursors' progress, like the MX8 coordinator. */
  completed = 1000;
  /** Barrier met. */
  ready = true;
  /** Drained. */
  drained = false;
  /** World size. */
  worldSize = 3;
  /** Pool size. */
  availableRanges = 2;
  /** Nodes by id. */
  nodes = new Map<string, FakeNode>();
  /** Live leases: id → [node, start, end, cursor]. */
  leases = new Map<string, [string, number, number, number]>();
  /** Coordinator clock. */
  now: () => number;

  /**
   * Creates a 3-node job with two live leases.
   *
   * @param now Coordinator clock (default Date.now).
   */
  constructor(now: () => number = Date.now) {
    this.now = now;
    for (const [i, id] of ["node-a", "node-b", "node-c"].entries()) {
      this.nodes.set(id, {
        rank: i,
        alive: true,
        lastHeartbeat: now(),
        rss: 300 * 1048576,
        stats: true,
        departed: false,
      });
    }
    this.leases.set("lease-1", ["node-a", 1000, 2000, 1200]);
    this.leases.set("lease-2", ["node-b", 2000, 3000, 2100]);
  }

  /** Stops a node's heartbeat now. */
  stop(nodeId: string): void {
    const n = this.nodes.get(nodeId)!;
    n.alive = false;
    n.lastHeartbeat = this.now();
  }

  /**
   * Builds a snapshot on the job's clock.
   *
   * @param extra Fields to override.
   * @returns The snapshot.
   */
  snapshot(
    extra: Partial<Omit<GetJobSnapshotResponse, "$typeName">> = {},
  ): GetJobSnapshotResponse {
    const now = this.now();
    const nodes = [...this.nodes].map(([nodeId, n]) => ({
      nodeId,
      rank: n.rank,
      lastHeartbeatUnixTimeMs: BigInt(n.alive ? now - 40 : n.lastHeartbeat),
      departed: n.departed,
      caps: {
        maxInflightBytes: 256n * 1048576n,
        maxRamBytes: 1024n * 1048576n,
      },
      stats: n.stats
        ? {
          inflightBytes: 12n * 1048576n,
          ramHighWaterBytes: BigInt(n.rss),
          processRssBytes: BigInt(n.rss),
          maxInflightBytes: 256n * 1048576n,
          maxProcessRssBytes: 1024n * 1048576n,
          autotuneEnabled: true,
          autotuneProfile: "balanced",
          effectiveWant: 2,
          effectivePrefetchBatches: 3,
          effectiveMaxQueueBatches: 64,
          autotunePressure: 0.12,
          autotuneLastDecision: "hold",
          deliveredSamplesTotal: 400n,
          mixSources: n.mix ?? [],
        }
        : undefined,
    }));
    const liveLeases = [...this.leases].map((
      [leaseId, [nodeId, start, end, cursor]],
    ) => ({
      leaseId,
      nodeId,
      range: { startId: BigInt(start), endId: BigInt(end) },
      cursor: BigInt(cursor),
      expiresUnixTimeMs: BigInt(now + 10_000),
    }));
    const snap = create(GetJobSnapshotResponseSchema, {
      jobId: this.jobId,
      manifestHash: this.manifestHash,
      worldSize: this.worldSize,
      registeredNodes: this.nodes.size,
      jobReady: this.ready,
      jobDrained: this.drained,
      activeLeases: liveLeases.length,
      availableRanges: this.availableRanges,
      nodes,
      liveLeases,
      counters: {
        registerTotal: 3n,
        heartbeatTotal: 120n,
        requestLeaseTotal: 9n,
        leasesGrantedTotal: 4n,
        progressTotal: 33n,
        activeLeases: BigInt(liveLeases.length),
        registeredNodes: BigInt(this.nodes.size),
      },
      totalSamples: BigInt(this.totalSamples),
      completedSamples: BigInt(
        this.completed +
          [...this.leases.values()].reduce((n, [, s, , c]) => n + c - s, 0),
      ),
      serverTimeUnixMs: BigInt(now),
    });
    return Object.assign(snap, extra);
  }
}
