/**
 * Connect routes as a fetch-style handler for `Deno.serve`: the Connect and
 * gRPC-Web protocols, unary and server streaming.
 *
 * gRPC itself is not served here: it carries its status in HTTP/2 trailers,
 * and `Deno.serve` (Deno 2.9) cannot send trailers. A gRPC request gets a
 * well-formed gRPC "trailers-only" answer instead (`grpc-status` 12,
 * UNIMPLEMENTED) whose message says where gRPC is served (see
 * `listenNodeHttp`), so a gRPC client fails with a clear error rather
 * than a protocol violation.
 *
 * @module
 */
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
} from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { type BodyLimits, limitBody } from "./body_limit.ts";
import { closeConnectionAfter, type FetchHandler } from "./serve.ts";

/** Options of {@linkcode connectFetchAdapter}. */
export interface ConnectFetchOptions extends ConnectRouterOptions {
  /** Registers the services. */
  routes: (router: ConnectRouter) => void;
  /** Answers every path that is not an RPC (default: 404). */
  fallback?: FetchHandler;
  /** Where gRPC clients should go instead, named in the refusal (e.g. `http://127.0.0.1:50052`). */
  grpcUrl?: string;
  /**
   * Limits on each request body, enforced while it streams in (default:
   * `readMaxBytes` or 4 MiB, 30 s, no shared budget).
   */
  bodyLimits?: BodyLimits;
}

const notFound: FetchHandler = () => new Response(null, { status: 404 });

/**
 * Builds a fetch handler serving `routes` over Connect and gRPC-Web (and
 * refusing gRPC with a clear gRPC status).
 *
 * @param options Routes, router options (interceptors, limits) and the
 * handler for other paths.
 * @returns A handler for {@linkcode listenHttp} / `Deno.serve`.
 *
 * @example Serve one method on a free port
 * ```ts
 * import assert from "node:assert/strict";
 * import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
 * import { createCoordinatorClient } from "./client.ts";
 * import { connectFetchAdapter } from "./fetch_adapter.ts";
 * import { listenHttp } from "./serve.ts";
 *
 * const handler = connectFetchAdapter({
 *   routes: (router) =>
 *     router.service(Coordinator, { getJobSnapshot: (req) => ({ jobId: req.jobId }) }),
 * });
 * await using server = await listenHttp(handler, { hostname: "127.0.0.1", port: 0 });
 * using client = createCoordinatorClient(server.url);
 * assert.equal((await client.getJobSnapshot({ jobId: "j" })).jobId, "j");
 * ```
 */
export function connectFetchAdapter(
  options: ConnectFetchOptions,
): FetchHandler {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    ...options,
    grpc: false,
  });
  options.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  const fallback = options.fallback ?? notFound;
  const limits = options.bodyLimits ??
    { maxBytes: options.readMaxBytes ?? 4 * 1048576, timeoutMs: 30_000 };
  return async (request, info) => {
    const handler = paths.get(requestPath(request.url));
    if (handler === undefined) return await fallback(request, info);
    const contentType = request.headers.get("content-type");
    if (isGrpc(contentType)) return grpcRefusal(contentType!, options.grpcUrl);
    const read = { done: false };
    const uReq: UniversalServerRequest = {
      httpVersion: "",
      method: request.method,
      url: request.url,
      header: request.headers,
      body: limitedBody(request, limits, read),
      signal: abortOnFailedResponse(info),
    };
    const response = toResponse(await handler(uReq));
    // A body refused before or while it streamed in is not drained: the
    // HTTP/1.1 connection closes after this answer (HTTP/2 drops the header).
    if (!read.done && request.body !== null) {
      response.headers.set("connection", "close");
      closeConnectionAfter(request);
    }
    return response;
  };
}

/**
 * A gRPC trailers-only response (status and message in the only HEADERS
 * frame, which ends the stream): UNIMPLEMENTED, naming the gRPC port.
 */
function grpcRefusal(contentType: string, grpcUrl: string | undefined) {
  const message = "this port serves the Connect and gRPC-Web protocols; " +
    (grpcUrl
      ? `gRPC (which needs HTTP/2 trailers) is served on ${grpcUrl}`
      : "gRPC (which needs HTTP/2 trailers) is not served here");
  return new Response(null, {
    status: 200,
    headers: {
      "content-type": contentType,
      "grpc-status": "12",
      "grpc-message": encodeURIComponent(message),
    },
  });
}

/**
 * A signal that aborts when the response could not be delivered (the client
 * went away). `request.signal` is not used: under Deno 2.9 it also aborts
 * after every successful response (and warns about that once).
 */
function abortOnFailedResponse(info: Deno.ServeHandlerInfo): AbortSignal {
  const controller = new AbortController();
  info.completed.catch((err) => controller.abort(err));
  return controller.signal;
}

/**
 * The path of an absolute request URL, without the query (cheaper than
 * `new URL` on a hot path).
 *
 * @param url An absolute URL such as `http://h:1/a/b?x`.
 * @returns Its path (`/a/b`), `/` when it has none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestPath } from "./fetch_adapter.ts";
 * assert.equal(requestPath("http://127.0.0.1:5/metrics?x=1"), "/metrics");
 * assert.equal(requestPath("http://127.0.0.1:5"), "/");
 * ```
 */
export function requestPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

function isGrpc(contentType: string | null): boolean {
  return contentType !== null &&
    /^application\/grpc(?:\+[a-z]+)?(?:;|$)/i.test(contentType);
}

function toResponse(uRes: UniversalServerResponse): Response {
  if (uRes.body === undefined) {
    return new Response(null, { status: uRes.status, headers: uRes.header });
  }
  const it = uRes.body[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel(reason) {
      await it.throw?.(reason).catch(() => {});
    },
  });
  return new Response(body, { status: uRes.status, headers: uRes.header });
}

function limitedBody(
  request: Request,
  limits: BodyLimits,
  read: { done: boolean },
): AsyncIterable<Uint8Array> {
  const reader = request.body?.getReader();
  const chunks: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      return {
        async next() {
          if (reader === undefined) return { done: true, value: undefined };
          const r = await reader.read();
          if (r.done) read.done = true;
          return r.done ? { done: true, value: undefined } : r;
        },
        async throw(e?: unknown) {
          await reader?.cancel(e);
          return { done: true, value: undefined };
        },
      };
    },
  };
  return limitBody(
    chunks,
    limits,
    request.headers.get("content-length"),
    () => void reader?.cancel().catch(() => {}),
  );
}
