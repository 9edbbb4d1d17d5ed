/**
 * Connect and gRPC-Web client transports on Deno's own `fetch` (hyper, in
 * Rust) with a dedicated `Deno.HttpClient`: h2c with prior knowledge for
 * `http://` URLs, or HTTP/1.1 keep-alive.
 *
 * Why not `@connectrpc/connect-node`'s `node:http2` client: under Deno 2.9 it
 * costs several times the CPU per call, now and then drops the end of a
 * server stream, and can abort the whole process (an nghttp2 assertion)
 * when the server sends GOAWAY on a graceful shutdown. gRPC needs response
 * trailers, which `fetch` does not expose, so gRPC stays on `node:http2`.
 *
 * @module
 */
import {
  Code,
  ConnectError,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  type UniversalClientFn,
  validateReadWriteMaxBytes,
} from "@connectrpc/connect/protocol";
import { createTransport as createConnect } from "@connectrpc/connect/protocol-connect";
import { createTransport as createGrpcWeb } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

/** Options of {@linkcode createFetchTransport}. */
export interface FetchTransportOptions {
  /** `connect` or `grpc-web`. */
  protocol: "connect" | "grpc-web";
  /** Base URL, e.g. `http://127.0.0.1:50051`. */
  baseUrl: string;
  /** `"2"`: HTTP/2 (h2c prior knowledge on `http://`); `"1.1"`: HTTP/1.1. */
  httpVersion: "1.1" | "2";
  /** Interceptors, outermost first. */
  interceptors: Interceptor[];
  /** Deadline of every call in ms unless the call sets its own. */
  defaultTimeoutMs?: number;
}

/** A transport with the HTTP client (connection pool) it owns. */
export interface FetchTransport {
  /** The Connect transport. */
  transport: Transport;
  /** Closes the pooled connections. */
  close(): void;
}

/**
 * Creates a Connect or gRPC-Web transport over `fetch` with its own
 * connection pool.
 *
 * @param options Protocol, URL, HTTP version, interceptors, deadline.
 * @returns The transport and its `close`.
 *
 * @example Call a coordinator over h2c
 * ```ts ignore
 * import { createClient } from "@connectrpc/connect";
 * import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
 * import { createFetchTransport } from "./fetch_transport.ts";
 *
 * const { transport, close } = createFetchTransport({
 *   protocol: "connect", baseUrl: "http://127.0.0.1:50051", httpVersion: "2", interceptors: [],
 * });
 * const client = createClient(Coordinator, transport);
 * console.log(await client.getJobSnapshot({ jobId: "j" }));
 * close();
 * ```
 */
export function createFetchTransport(
  options: FetchTransportOptions,
): FetchTransport {
  const h2 = options.httpVersion === "2";
  const client = Deno.createHttpClient({ http1: !h2, http2: h2 });
  const common = {
    baseUrl: options.baseUrl,
    httpClient: fetchClient(client),
    useBinaryFormat: true,
    interceptors: options.interceptors,
    acceptCompression: [compressionGzip, compressionBrotli],
    sendCompression: null,
    defaultTimeoutMs: options.defaultTimeoutMs,
    ...validateReadWriteMaxBytes(undefined, undefined, undefined),
  };
  const transport = options.protocol === "connect"
    ? createConnect(common)
    : createGrpcWeb(common);
  return { transport, close: () => client.close() };
}

/**
 * A universal client on `fetch`: the request body (always small here) is
 * sent as one buffer, the response body is streamed.
 */
function fetchClient(client: Deno.HttpClient): UniversalClientFn {
  return async (req) => {
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (req.body !== undefined) {
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of req.body) {
        parts.push(chunk);
        size += chunk.byteLength;
      }
      body = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        body.set(p, at);
        at += p.byteLength;
      }
    }
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: req.header,
        body,
        signal: req.signal,
        client,
      });
    } catch (err) {
      throw unavailable(err, req.signal, req.url);
    }
    return {
      status: res.status,
      header: res.headers,
      body: chunks(res.body, req.signal, req.url),
      trailer: new Headers(),
    };
  };
}

/**
 * A network failure (refused, reset, unreachable) as `Unavailable`, the code
 * callers retry on, like connect-node's clients report it; an abort stays
 * what it is.
 */
function unavailable(
  err: unknown,
  signal: AbortSignal | undefined,
  url: string,
): unknown {
  if (signal?.aborted || err instanceof ConnectError) return err;
  // The reason may sit in the cause chain ("fetch failed" ← "…refused").
  let text = "";
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    text += (text ? ": " : "") + (e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  // fetch says "error sending request for url (…): client error (Connect):
  // tcp connect error: Connection refused (os error 111)"; say it the way
  // Node.js does, with the address: "connect ECONNREFUSED 127.0.0.1:9".
  const where = /^[a-z]+:\/\/([^/]+)/i.exec(url)?.[1] ?? url;
  const errno = /Connection refused/i.test(text)
    ? "connect ECONNREFUSED"
    : /Connection reset/i.test(text)
    ? "read ECONNRESET"
    : /timed out/i.test(text)
    ? "connect ETIMEDOUT"
    : undefined;
  // A recognized failure says all in its message; the rest keep the chain.
  return errno
    ? new ConnectError(`${errno} ${where}`, Code.Unavailable)
    : new ConnectError(text, Code.Unavailable, undefined, undefined, err);
}

async function* chunks(
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal | undefined,
  url: string,
): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        throw unavailable(err, signal, url);
      }
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // Abandoned early (error, abort): free the response and its stream.
    if (!done) await reader.cancel().catch(() => {});
  }
}
