/**
 * The coordinator's HTTP servers. The main port (`Deno.serve`, HTTP/1.1 and
 * h2c) serves the Coordinator service over Connect and gRPC-Web, plus
 * `GET /metrics` (Prometheus text) and `GET /healthz`; the per-node hot RPCs
 * in their common Connect form take a fast path. gRPC needs HTTP/2
 * trailers, which `Deno.serve` cannot send, so gRPC clients are served on a
 * second port (`node:http2` + `connectNodeAdapter`: Connect, gRPC and
 * gRPC-Web) and the main port answers gRPC with UNIMPLEMENTED naming it. The
 * bearer token, when set, guards every RPC on both; `/metrics` and
 * `/healthz` stay open.
 *
 * Both ports share one connection cap and one budget of request-body bytes
 * being read; every body is read under the size cap while it streams in
 * (`lib/rpc/body_limit.ts`), and idle or slow connections are closed
 * (`lib/rpc/conn_sweeper.ts`).
 *
 * @module
 */
import {
  create,
  type DescMessage,
  isMessage,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  codeToHttpStatus,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
import {
  bearerTokenOf,
  requireBearerToken,
  secretsEqual,
} from "../rpc/auth.ts";
import { Mx8Error } from "../errors.ts";
import {
  BodyBudget,
  type BodyLimits,
  readBodyLimited,
} from "../rpc/body_limit.ts";
import {
  ConnectionGate,
  type ConnectionLimits,
  type ServerEvent,
} from "../rpc/conn_limits.ts";
import { connectFetchAdapter, requestPath } from "../rpc/fetch_adapter.ts";
import { connectNodeHandler } from "../rpc/node_adapter.ts";
import {
  closeConnectionAfter,
  type FetchHandler,
  type HttpListener,
  listenHttp,
  resolveLimits,
} from "../rpc/serve.ts";
import { listenNodeHttp } from "../rpc/serve_node.ts";
import { flatDecoder } from "../rpc/flat_decode.ts";
import type { CoordinatorJob } from "./job.ts";
import { renderMetrics } from "./metrics.ts";
import { coordinatorRoutes, createCoordinatorService } from "./service.ts";

/** Largest request message the coordinator reads (requests are small). */
export const READ_MAX_BYTES = 4 * 1048576;

/** Default bytes of request bodies all connections may hold at once. */
export const DEFAULT_BODY_BUDGET_BYTES = 16 * 1048576;

/** Options of {@linkcode serveCoordinator}. */
export interface ServeCoordinatorOptions {
  /** Interface to bind (default `127.0.0.1`). */
  hostname?: string;
  /** Port; `0` picks a free one (default 50051). */
  port?: number;
  /** When set, every RPC needs `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Also serve gRPC (and Connect, gRPC-Web) on this port of the same
   * interface through `node:http2`; `0` picks a free one. Omitted: no gRPC.
   */
  grpcPort?: number;
  /**
   * When `grpcPort` is taken, serve gRPC on any free port instead of
   * failing (for a defaulted port: `--bind`'s + 1 may be some client's
   * ephemeral port). `grpcFallbackFrom` then says which port was wanted.
   */
  grpcPortFallback?: boolean;
  /** Connection cap and timeouts, shared by both ports (defaults: `DEFAULT_LIMITS`). */
  limits?: Partial<ConnectionLimits>;
  /** Bytes of request bodies all connections may hold at once (default 16 MiB). */
  bodyBudgetBytes?: number;
  /** Receives `connections_refused` / `accept_failed` events (rate-limited). */
  onEvent?: (event: ServerEvent) => void;
}

/** The coordinator's listeners. */
export interface CoordinatorServer extends HttpListener {
  /** `http://HOST:PORT` of the gRPC port, when one is served. */
  readonly grpcUrl?: string;
  /** The gRPC port asked for, when it was taken and another one is used. */
  readonly grpcFallbackFrom?: number;
}

function reply(
  status: number,
  contentType: string,
  body: string,
  unreadBodyOf?: Request,
): Response {
  const headers: Record<string, string> = {
    "content-type": contentType,
    "cache-control": "no-store",
  };
  if (unreadBodyOf !== undefined) {
    // The request's body (if any) was not read: do not wait for it.
    headers.connection = "close";
    closeConnectionAfter(unreadBodyOf);
  }
  return new Response(body, { status, headers });
}

/** The per-node hot-loop RPCs the fast path serves. */
const FAST_METHODS = [
  "registerNode",
  "heartbeat",
  "requestLease",
  "reportProgress",
] as const;

/** Headers of a fast-path answer (never mutated: Deno copies them). */
const PROTO_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "application/proto",
});

/** Whether a service result is a plain `{}` (no own enumerable field). */
function isEmptyInit(out: Record<string, unknown>): boolean {
  if (Object.getPrototypeOf(out) !== Object.prototype) return false;
  for (const _ in out) return false;
  return true;
}

interface FastRoute {
  /** Decodes the request (`fromBinary`'s result or error, faster). */
  decode: (bytes: Uint8Array) => unknown;
  output: DescMessage;
  call: (req: unknown) => unknown;
}

/**
 * A fast path for the hot per-node RPCs (RegisterNode, Heartbeat,
 * RequestLease, ReportProgress) in their common form: Connect protocol,
 * unary POST, binary (`application/proto`), uncompressed, with a valid token
 * when one is required. Those are answered with the same service
 * implementation and the same wire result as the Connect router (200 +
 * proto body, or the Connect error JSON with its HTTP status), without the
 * router's async-iterable plumbing, interceptor chain and per-call
 * `AbortController`. Anything else (gRPC, gRPC-Web, JSON, GET, compression,
 * a missing or wrong token, a malformed timeout, other methods) returns
 * `undefined` and goes through the router unchanged.
 */
function fastPath(
  job: CoordinatorJob,
  token: string | undefined,
  bodyLimits: BodyLimits,
): (request: Request, path: string) => Promise<Response> | undefined {
  const impl = createCoordinatorService(job) as unknown as Record<
    string,
    (req: unknown, ctx: unknown) => unknown
  >;
  const routes = new Map<string, FastRoute>();
  for (const name of FAST_METHODS) {
    const method = Coordinator.method[name];
    const fn = impl[name];
    routes.set(`/${Coordinator.typeName}/${method.name}`, {
      decode: flatDecoder(method.input),
      output: method.output,
      call: (req) => fn(req, undefined),
    });
  }
  const answer = async (route: FastRoute, request: Request) => {
    let status = 200;
    let type = "application/proto";
    // "" is the empty message: zero bytes, and a string body skips Deno's
    // per-response BufferSource checks (an op call for SharedArrayBuffer).
    let body: Uint8Array | "";
    let bodyRead = false;
    let metadata: Headers | undefined;
    try {
      const bytes = await readBodyLimited(request, bodyLimits);
      bodyRead = true;
      let input;
      try {
        input = route.decode(bytes);
      } catch (e) {
        throw new ConnectError(
          `parse binary: ${e instanceof Error ? e.message : String(e)}`,
          Code.InvalidArgument,
        );
      }
      let out = route.call(input) as Record<string, unknown>;
      if (out instanceof Promise) out = await out;
      // Heartbeat and ReportProgress answer `{}`: all defaults, which is
      // zero bytes on the wire, without building and encoding a message.
      body = isEmptyInit(out) ? "" : toBinary(
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
      metadata = error.metadata; // e.g. mx8-leader from an HA follower
      if (!bodyRead) closeConnectionAfter(request);
    }
    if (status === 200) {
      // One content-type header and a static body: Deno sends it through
      // its static-response path, and no Headers object is built.
      return new Response(body as Uint8Array<ArrayBuffer> | "", {
        headers: PROTO_HEADERS,
      });
    }
    const headers = new Headers(metadata);
    headers.set("content-type", type);
    // A body refused before or while it streamed in is not drained: the
    // HTTP/1.1 connection closes after this answer (HTTP/2 drops the header).
    if (!bodyRead) headers.set("connection", "close");
    return new Response(body as Uint8Array<ArrayBuffer> | "", {
      status,
      headers,
    });
  };
  return (request, path) => {
    if (request.method !== "POST") return undefined;
    const route = routes.get(path);
    if (route === undefined) return undefined;
    const headers = request.headers;
    if (headers.get("content-type") !== "application/proto") return undefined;
    const encoding = headers.get("content-encoding");
    if (encoding !== null && encoding !== "identity") return undefined;
    const timeout = headers.get("connect-timeout-ms");
    if (timeout !== null && !/^\d{1,10}$/.test(timeout)) return undefined;
    if (token !== undefined) {
      const given = bearerTokenOf(headers.get("authorization"));
      if (given === undefined || !secretsEqual(given, token)) return undefined;
    }
    return answer(route, request);
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
): Promise<CoordinatorServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const interceptors = options.token === undefined
    ? []
    : [requireBearerToken(options.token)];
  const limits = resolveLimits(options);
  const gate = new ConnectionGate(limits.maxConnections, options.onEvent);
  const bodyLimits: BodyLimits = {
    maxBytes: READ_MAX_BYTES,
    timeoutMs: limits.bodyTimeoutMs,
    budget: new BodyBudget(
      options.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES,
    ),
  };
  const listen = { hostname, limits, gate, onEvent: options.onEvent };
  // The main port is bound first, so a bad --bind is named as such; its
  // handler is set once the gRPC port (named in gRPC refusals) is known.
  let serve: FetchHandler = (request) => {
    closeConnectionAfter(request);
    return new Response("Starting\n", {
      status: 503,
      headers: { connection: "close" },
    });
  };
  const main = await listenHttp(
    (request, info) => serve(request, info),
    { ...listen, port: options.port ?? 50051, name: "main" },
  );
  const listenGrpc = (port: number) =>
    listenNodeHttp(
      connectNodeHandler({
        routes: coordinatorRoutes(job),
        interceptors,
        bodyLimits,
      }),
      { ...listen, port, name: "grpc" },
    );
  let grpcFallbackFrom: number | undefined;
  let grpc: HttpListener | undefined;
  try {
    grpc = options.grpcPort === undefined
      ? undefined
      : await listenGrpc(options.grpcPort).catch((err: Error) => {
        const inUse = err.cause instanceof Deno.errors.AddrInUse;
        if (inUse && options.grpcPortFallback && options.grpcPort !== 0) {
          grpcFallbackFrom = options.grpcPort;
          return listenGrpc(0);
        }
        throw new Mx8Error(`gRPC port: ${err.message}`, { cause: err });
      });
  } catch (err) {
    await main.close();
    throw err;
  }
  const fallback = (request: Request): Response => {
    const path = requestPath(request.url);
    if (
      (path === "/metrics" || path === "/healthz") && request.method !== "GET"
    ) {
      return reply(405, "text/plain; charset=utf-8", "GET only\n", request);
    }
    if (path === "/metrics") {
      const snap = job.snapshot();
      return reply(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        renderMetrics({ ...snap }),
      );
    }
    if (path === "/healthz") {
      return reply(200, "text/plain; charset=utf-8", "ok\n");
    }
    return reply(
      404,
      "text/plain; charset=utf-8",
      `Not found: ${path} (RPCs live under /mx8.v1.Coordinator/; also GET /metrics, GET /healthz)\n`,
      request.method !== "GET" && request.method !== "HEAD"
        ? request
        : undefined,
    );
  };
  const router = connectFetchAdapter({
    routes: coordinatorRoutes(job),
    interceptors,
    readMaxBytes: READ_MAX_BYTES,
    bodyLimits,
    fallback,
    grpcUrl: grpc?.url,
  });
  const fast = fastPath(job, options.token, bodyLimits);
  serve = (request, info) =>
    fast(request, requestPath(request.url)) ?? router(request, info);
  const close = async () => {
    await Promise.all([main.close(), grpc?.close()]);
  };
  return {
    hostname: main.hostname,
    port: main.port,
    url: main.url,
    grpcUrl: grpc?.url,
    grpcFallbackFrom,
    close,
    [Symbol.asyncDispose]: close,
  };
}
