/**
 * One TCP port serving both HTTP/1.1 (keep-alive) and h2c (HTTP/2 with prior
 * knowledge, no TLS), so Connect, gRPC and gRPC-Web clients all reach the
 * same handler.
 *
 * Built on `Deno.serve`, whose HTTP stack (hyper) runs in Rust and detects
 * the HTTP/2 client preface on plaintext connections itself; only the
 * handler runs in JavaScript. HTTP/1.1 `Upgrade: h2c` is not supported
 * (clients use prior knowledge).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** A fetch-style request handler (what `Deno.serve` calls). */
export type FetchHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options of {@linkcode listenHttp}. */
export interface ListenOptions {
  /** Interface to bind, e.g. `127.0.0.1` or `0.0.0.0`. */
  hostname: string;
  /** Port; `0` picks a free one. */
  port: number;
  /**
   * Called when the handler throws; its response is sent instead. Defaults to
   * a plain `500 Internal Server Error`.
   */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** How long {@linkcode HttpListener.close} waits for connections to end (default 2000 ms). */
  closeGraceMs?: number;
}

/** A listening HTTP/1.1 + h2c server. */
export interface HttpListener {
  /** Bound interface. */
  readonly hostname: string;
  /** Bound port (the real one when `0` was asked for). */
  readonly port: number;
  /** `http://HOST:PORT` (IPv6 hosts in brackets). */
  readonly url: string;
  /**
   * Stops accepting, lets requests in flight finish and closes every
   * connection (HTTP/2 clients get a GOAWAY). Resolves within
   * `closeGraceMs` even when a peer never lets go of its connection; the
   * server then no longer keeps the process alive. Idempotent.
   */
  close(): Promise<void>;
  /** Same as {@linkcode HttpListener.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Listens on one port for HTTP/1.1 and h2c and passes every request to
 * `handler`.
 *
 * @param handler The request handler.
 * @param options Interface and port.
 * @returns The listener once bound.
 * @throws {Mx8Error} If the address is in use or cannot be bound.
 *
 * @example Serve a health check on a free port
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenHttp } from "./serve.ts";
 *
 * await using server = await listenHttp(() => new Response("ok"), {
 *   hostname: "127.0.0.1", port: 0,
 * });
 * const res = await fetch(`${server.url}/healthz`);
 * assert.equal(await res.text(), "ok");
 * ```
 */
export function listenHttp(
  handler: FetchHandler,
  options: ListenOptions,
): Promise<HttpListener> {
  const where = `${options.hostname}:${options.port}`;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: () => {},
      onError: options.onError ??
        (() => new Response("Internal Server Error\n", { status: 500 })),
    }, handler);
  } catch (err) {
    return Promise.reject(
      listenFailed(where, err instanceof Deno.errors.AddrInUse, err),
    );
  }
  const { hostname, port } = server.addr;
  let closing: Promise<void> | undefined;
  const graceMs = options.closeGraceMs ?? 2000;
  const close = () =>
    closing ??= (async () => {
      // A graceful shutdown waits for every connection to close; an HTTP/2
      // peer that ignores the GOAWAY would hold it forever.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), graceMs);
      });
      const done = await Promise.race([server.shutdown(), grace]);
      clearTimeout(timer);
      if (done === "late") server.unref();
    })();
  return Promise.resolve({
    hostname,
    port,
    url: httpUrl(hostname, port),
    close,
    [Symbol.asyncDispose]: close,
  });
}

/**
 * The error for a listener that cannot bind `where` (shared by both
 * listeners, so the message is the same whichever failed).
 *
 * @param where `HOST:PORT` asked for.
 * @param inUse Whether the address is taken.
 * @param cause The underlying error.
 * @returns The error to throw.
 */
export function listenFailed(
  where: string,
  inUse: boolean,
  cause: unknown,
): Mx8Error {
  return new Mx8Error(
    inUse
      ? `Cannot listen on ${where}: address already in use (stop the other process or pick another port)`
      : `Cannot listen on ${where}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
    { cause },
  );
}

/**
 * `http://HOST:PORT`, an IPv6 host in brackets.
 *
 * @param hostname Bound address.
 * @param port Bound port.
 * @returns The URL.
 */
export function httpUrl(hostname: string, port: number): string {
  return `http://${
    hostname.includes(":") ? `[${hostname}]` : hostname
  }:${port}`;
}
