/**
 * The coordinator's HTTP server: the Coordinator service over Connect, gRPC
 * and gRPC-Web (via `connectNodeAdapter`) on HTTP/1.1 and h2c, one port, plus
 * `GET /metrics` (Prometheus text) and `GET /healthz`. The bearer token, when
 * set, guards every RPC; `/metrics` and `/healthz` stay open.
 *
 * @module
 */
import {
  connectNodeAdapter,
  type ConnectNodeAdapterOptions,
} from "@connectrpc/connect-node";
import { requireBearerToken } from "../rpc/auth.ts";
import { type HttpListener, listenHttp } from "../rpc/serve.ts";
import type { CoordinatorJob } from "./job.ts";
import { renderMetrics } from "./metrics.ts";
import { coordinatorRoutes } from "./service.ts";

/** Largest request message the coordinator reads (requests are small). */
const READ_MAX_BYTES = 4 * 1048576;

/** Options of {@linkcode serveCoordinator}. */
export interface ServeCoordinatorOptions {
  /** Interface to bind (default `127.0.0.1`). */
  hostname?: string;
  /** Port; `0` picks a free one (default 50051). */
  port?: number;
  /** When set, every RPC needs `Authorization: Bearer <token>`. */
  token?: string;
}

type Fallback = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type Response = Parameters<Fallback>[1];

function reply(
  res: Response,
  status: number,
  contentType: string,
  body: string,
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "cache-control": "no-store",
  });
  res.end(body);
}

/**
 * Serves a job until the returned listener is closed (the maintenance tick
 * is the job's own: call `job.start()`).
 *
 * @param job The job.
 * @param options Bind address and auth token.
 * @returns The listener; its `url` is `http://HOST:PORT` with the real port.
 * @throws {Mx8Error} If the address is in use or cannot be bound.
 *
 * @example Serve on a free port and read the metrics
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoordinatorJob } from "./job.ts";
 * import { serveCoordinator } from "./server.ts";
 *
 * const job = new CoordinatorJob({
 *   jobId: "j", manifestHash: "h", manifestBytes: new Uint8Array(), totalSamples: 4,
 *   datasetRoot: "/data", classes: [], worldSize: 1, leaseTtlMs: 1000, heartbeatIntervalMs: 100,
 * });
 * await using server = await serveCoordinator(job, { port: 0 });
 * const text = await (await fetch(`${server.url}/metrics`)).text();
 * assert.match(text, /^total_samples 4$/m);
 * ```
 */
export async function serveCoordinator(
  job: CoordinatorJob,
  options: ServeCoordinatorOptions = {},
): Promise<HttpListener> {
  const fallback: Fallback = (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const method = req.method ?? "GET";
    if ((path === "/metrics" || path === "/healthz") && method !== "GET") {
      return reply(res, 405, "text/plain; charset=utf-8", "GET only\n");
    }
    if (path === "/metrics") {
      const snap = job.snapshot();
      return reply(
        res,
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        renderMetrics({ ...snap }),
      );
    }
    if (path === "/healthz") {
      return reply(res, 200, "text/plain; charset=utf-8", "ok\n");
    }
    reply(
      res,
      404,
      "text/plain; charset=utf-8",
      `Not found: ${path} (RPCs live under /mx8.v1.Coordinator/; also GET /metrics, GET /healthz)\n`,
    );
  };
  const handler = connectNodeAdapter({
    routes: coordinatorRoutes(job),
    interceptors: options.token === undefined
      ? []
      : [requireBearerToken(options.token)],
    readMaxBytes: READ_MAX_BYTES,
    fallback,
  });
  return await listenHttp(handler, {
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 50051,
  });
}
