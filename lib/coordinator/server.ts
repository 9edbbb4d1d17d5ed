/**
 * The coordinator's HTTP server: the Coordinator service over Connect, gRPC
 * and gRPC-Web (via `connectNodeAdapter`) on HTTP/1.1 and h2c, one port, plus
 * `GET /metrics` (Prometheus text) and `GET /healthz`. The bearer token, when
 * set, guards every RPC; `/metrics` and `/healthz` stay open.
 *
 * @module
 */
import type * as http2 from "node:http2";
import { Buffer } from "node:buffer";
import {
  create,
  type DescMessage,
  fromBinary,
  isMessage,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  codeToHttpStatus,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import {
  connectNodeAdapter,
  type ConnectNodeAdapterOptions,
} from "@connectrpc/connect-node";
import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
import {
  bearerTokenOf,
  requireBearerToken,
  secretsEqual,
} from "../rpc/auth.ts";
import { type HttpListener, listenHttp } from "../rpc/serve.ts";
import type { CoordinatorJob } from "./job.ts";
import { renderMetrics } from "./metrics.ts";
import { coordinatorRoutes, createCoordinatorService } from "./service.ts";

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

/** The per-node hot-loop RPCs the fast path serves. */
const FAST_METHODS = [
  "registerNode",
  "heartbeat",
  "requestLease",
  "reportProgress",
] as const;

interface FastRoute {
  input: DescMessage;
  output: DescMessage;
  call: (req: unknown) => unknown;
}

/**
 * A fast path for the hot per-node RPCs (RegisterNode, Heartbeat,
 * RequestLease, ReportProgress) in their common form: Connect protocol,
 * unary POST over HTTP/2, binary (`application/proto`), uncompressed, with a
 * valid token when one is required. Those are answered on the raw
 * `node:http2` stream with the same service implementation and the same
 * wire result as `connectNodeAdapter` (200 + proto body, or the Connect
 * error JSON with its HTTP status), skipping the request/response
 * compatibility layer, web `Headers`/`URL`/`AbortController` per call and
 * the async-iterable plumbing: about half of the server's CPU per RPC.
 * Anything else (gRPC, gRPC-Web, JSON, GET, compression, a missing or wrong
 * token, a malformed timeout, other methods, HTTP/1.1) is not claimed and
 * goes through `connectNodeAdapter` unchanged.
 */
function fastPath(
  job: CoordinatorJob,
  token: string | undefined,
): (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
) => boolean {
  const impl = createCoordinatorService(job) as unknown as Record<
    string,
    (req: unknown, ctx: unknown) => unknown
  >;
  const routes = new Map<string, FastRoute>();
  for (const name of FAST_METHODS) {
    const method = Coordinator.method[name];
    const fn = impl[name];
    routes.set(`/${Coordinator.typeName}/${method.name}`, {
      input: method.input,
      output: method.output,
      call: (req) => fn(req, undefined),
    });
  }
  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const route = routes.get(headers[":path"] ?? "");
    if (route === undefined) return false;
    if (headers["content-type"] !== "application/proto") return false;
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const timeout = headers["connect-timeout-ms"];
    if (
      timeout !== undefined &&
      (typeof timeout !== "string" || !/^\d{1,10}$/.test(timeout))
    ) return false;
    if (token !== undefined) {
      const given = bearerTokenOf(headers["authorization"] ?? null);
      if (given === undefined || !secretsEqual(given, token)) return false;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    stream.on("error", () => {});
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > READ_MAX_BYTES) tooBig = true;
      else chunks.push(chunk);
    });
    stream.on("end", async () => {
      let status = 200;
      let type = "application/proto";
      let body: Uint8Array;
      try {
        if (tooBig) {
          throw new ConnectError(
            `message size ${size} is larger than configured readMaxBytes ${READ_MAX_BYTES}`,
            Code.ResourceExhausted,
          );
        }
        const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        let input;
        try {
          input = fromBinary(route.input, bytes);
        } catch (e) {
          throw new ConnectError(
            `parse binary: ${e instanceof Error ? e.message : String(e)}`,
            Code.InvalidArgument,
          );
        }
        let out = route.call(input) as Record<string, unknown>;
        if (out instanceof Promise) out = await out;
        body = toBinary(
          route.output,
          isMessage(out, route.output) ? out : create(route.output, out),
        );
      } catch (e) {
        const error = e instanceof ConnectError ? e : new ConnectError(
          "internal error",
          Code.Internal,
          undefined,
          undefined,
          e,
        );
        status = codeToHttpStatus(error.code);
        type = "application/json";
        body = errorToJsonBytes(error, {});
      }
      if (stream.destroyed || stream.closed) return;
      try {
        stream.respond({
          ":status": status,
          "content-type": type,
          "content-length": String(body.byteLength),
        });
        stream.end(body);
      } catch {
        // The peer reset the stream meanwhile: nobody to answer.
        stream.destroy();
      }
    });
    return true;
  };
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
    claimH2Stream: fastPath(job, options.token),
  });
}
