/**
 * One TCP port serving both HTTP/1.1 (keep-alive) and h2c (HTTP/2 with prior
 * knowledge, no TLS), so Connect, gRPC and gRPC-Web clients all reach the
 * same handler.
 *
 * The HTTP stack is `Deno.serve`'s (hyper, in Rust, which detects the HTTP/2
 * client preface on plaintext connections itself; only the handler runs in
 * JavaScript), but the listener and its accept loop are ours, because
 * `Deno.serve`'s own loop ends the server (and, unhandled, the process) on
 * the first accept error such as `EMFILE`, and has no connection cap and no
 * idle or header timeout. Each accepted connection is counted against a
 * {@linkcode ConnectionGate} (refused at once above the cap), tracked by a
 * {@linkcode ConnectionSweeper} (header and idle timeouts) and handed to
 * Deno's per-connection server (`serveHttpOnConnection`, the internal
 * `Deno.serve` is built on; if a Deno lacks it, plain `Deno.serve` is used
 * and a `connection_limits_unavailable` event says so). HTTP/1.1
 * `Upgrade: h2c` is not supported (clients use prior knowledge).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import { listenWithLimits } from "./listen_limited.ts";
import {
  type ConnectionGate,
  type ConnectionLimits,
  DEFAULT_LIMITS,
  defaultMaxConnections,
  type ServerEvent,
} from "./conn_limits.ts";
import {
  type ConnectionSweeper,
  LINGER_MS,
  type SweptConnection,
} from "./conn_sweeper.ts";

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
  /** Connection limits (defaults: {@linkcode DEFAULT_LIMITS}, cap from the descriptor limit). */
  limits?: Partial<ConnectionLimits>;
  /** Counts connections against a cap shared with other listeners (default: one of its own). */
  gate?: ConnectionGate;
  /** Receives `connections_refused` / `accept_failed` events (rate-limited). */
  onEvent?: (event: ServerEvent) => void;
  /** Name of the listener in events (default `main`). */
  name?: string;
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

/** Requests whose connection is closed once their response is sent. */
const closeAfter = new WeakSet<Request>();

/**
 * Closes the connection of `request` soon after its response has been sent
 * ({@linkcode LINGER_MS}, so the peer reads it first). For
 * answers that leave the request body unread (refused as too large, over
 * budget, too slow, or to a path that takes none): hyper would otherwise
 * keep an HTTP/1.1 connection open waiting for the rest of the body, even
 * with `Connection: close`. HTTP/2 connections are closed too (all their
 * streams), which only peers that send such bodies see.
 *
 * @param request A request being handled by a {@linkcode listenHttp} handler.
 */
export function closeConnectionAfter(request: Request): void {
  closeAfter.add(request);
}

/**
 * Fires a connection's abort signal. Deno's listener for it throws
 * `BadResource` (reported as an uncaught error, which ends the process) if
 * the connection closed in the meantime; that one error is swallowed.
 */
function abortQuietly(abort: AbortController): void {
  const swallow = (e: ErrorEvent) => {
    if (e.error instanceof Deno.errors.BadResource) e.preventDefault();
  };
  globalThis.addEventListener("error", swallow);
  try {
    abort.abort();
  } finally {
    globalThis.removeEventListener("error", swallow);
  }
}

/** Requests one connection may have in flight; more get 503 at once. */
export const MAX_REQUESTS_PER_CONNECTION = 128;

/** Deno's per-connection HTTP server (internal; what `Deno.serve` runs per connection). */
type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: FetchHandler,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: () => void,
) => ConnectionServer;

/** Deno's server of one connection. */
interface ConnectionServer {
  /** Settles when the connection closed. */
  finished: Promise<void>;
  /** Graceful close (GOAWAY); after it the abort signal must not fire. */
  shutdown(): Promise<void>;
  /** Stops keeping the process alive. */
  unref(): void;
}

function serveOnConnection(): ServeOnConnection | undefined {
  const deno = Deno as unknown as Record<symbol, Record<string, unknown>> & {
    internal?: symbol;
  };
  const internal = deno.internal === undefined
    ? undefined
    : deno[deno.internal];
  const fn = internal?.serveHttpOnConnection;
  return typeof fn === "function" ? fn as ServeOnConnection : undefined;
}

/**
 * Resolves the limits of a listener from its options.
 *
 * @param options Listener options.
 * @returns Complete limits.
 */
export function resolveLimits(
  options: Pick<ListenOptions, "limits" | "gate">,
): ConnectionLimits {
  return {
    ...DEFAULT_LIMITS,
    maxConnections: options.gate?.maxConnections ?? defaultMaxConnections(),
    ...options.limits,
  };
}

/**
 * Listens on one port for HTTP/1.1 and h2c and passes every request to
 * `handler`.
 *
 * @param handler The request handler.
 * @param options Interface, port and connection limits.
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
  const serveOn = serveOnConnection();
  if (serveOn === undefined) {
    options.onEvent?.({
      event: "connection_limits_unavailable",
      listener: options.name ?? "main",
      reason:
        `this Deno (${Deno.version.deno}) has no per-connection HTTP server; serving with Deno.serve, without connection cap or timeouts (use Deno 2.9.6)`,
    });
    return listenDenoServe(handler, options);
  }
  const onError = options.onError ??
    (() => new Response("Internal Server Error\n", { status: 500 }));
  const graceMs = options.closeGraceMs ?? 2000;
  return listenWithLimits(options, "main", ({ gate, sweeper }) => {
    const connections = new Set<ConnectionServer>();
    return {
      serve: (conn) =>
        serveConnection(conn, serveOn, handler, onError, {
          sweeper,
          connections,
          release: () => gate.release(),
        }),
      // Graceful (GOAWAY, idle keep-alive connections closed); a peer that
      // ignores it no longer keeps the process alive after the grace.
      drain: async () => {
        const servers = [...connections];
        for (const server of servers) server.shutdown().catch(() => {});
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), graceMs);
        });
        const done = await Promise.race([
          Promise.allSettled(servers.map((s) => s.finished)).then(() => "done"),
          grace,
        ]);
        clearTimeout(timer);
        if (done === "late") {
          for (const server of connections) server.unref();
        }
      },
    };
  });
}

/**
 * Serves one accepted connection with Deno's HTTP stack, tracked by the
 * sweeper until it closes (then its gate slot is released).
 */
function serveConnection(
  conn: Deno.TcpConn,
  serveOn: ServeOnConnection,
  handler: FetchHandler,
  onError: (error: unknown) => Response | Promise<Response>,
  ctx: {
    sweeper: ConnectionSweeper;
    connections: Set<ConnectionServer>;
    release: () => void;
  },
): void {
  try {
    // Small RPC replies must not wait for delayed ACKs (Nagle).
    conn.setNoDelay(true);
  } catch { /* closed already */ }
  const abort = new AbortController();
  const entry: SweptConnection = {
    acceptedAt: performance.now(),
    lastActiveAt: 0,
    active: 0,
    started: false,
    kill: () => abortQuietly(abort),
  };
  const ended = () => {
    entry.active--;
    entry.lastActiveAt = performance.now();
  };
  const tracked: FetchHandler = (request, info) => {
    entry.started = true;
    if (entry.active >= MAX_REQUESTS_PER_CONNECTION) {
      return new Response(
        `Too many requests in flight on this connection (limit ${MAX_REQUESTS_PER_CONNECTION})\n`,
        { status: 503 },
      );
    }
    entry.active++;
    info.completed.then(() => {
      ended();
      if (closeAfter.has(request)) {
        entry.closeAt = performance.now() + LINGER_MS;
      }
    }, ended);
    return handler(request, info);
  };
  let server: ConnectionServer;
  try {
    server = serveOn(conn, abort.signal, tracked, onError, () => {});
  } catch {
    ctx.release();
    try {
      conn.close();
    } catch { /* already closed */ }
    return;
  }
  ctx.sweeper.add(entry);
  ctx.connections.add(server);
  server.finished.catch(() => {}).finally(() => {
    ctx.sweeper.delete(entry);
    ctx.connections.delete(server);
    ctx.release();
  });
}

/** The fallback without connection control: plain `Deno.serve`. */
function listenDenoServe(
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
  server.finished.catch((err) =>
    options.onEvent?.({
      event: "accept_failed",
      listener: options.name ?? "main",
      error: err instanceof Error ? err.message : String(err),
      retry_in_ms: null,
      hint: "the listener stopped; restart the process",
    })
  );
  const { hostname, port } = server.addr;
  let closing: Promise<void> | undefined;
  const graceMs = options.closeGraceMs ?? 2000;
  const close = () =>
    closing ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), graceMs);
      });
      const done = await Promise.race([server.shutdown(), grace]);
      clearTimeout(timer);
      if (done === "late") server.unref();
    })();
  return Promise.resolve(listenerOf(hostname, port, close));
}

/**
 * The {@linkcode HttpListener} of a bound address.
 *
 * @param hostname Bound interface.
 * @param port Bound port.
 * @param close Stops it (idempotent).
 * @returns The listener.
 */
export function listenerOf(
  hostname: string,
  port: number,
  close: () => Promise<void>,
): HttpListener {
  return {
    hostname,
    port,
    url: httpUrl(hostname, port),
    close,
    [Symbol.asyncDispose]: close,
  };
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
  const text = cause instanceof Error ? cause.message : String(cause);
  return new Mx8Error(
    inUse
      ? `Cannot listen on ${where}: address already in use (stop the other process or pick another port)`
      : /lookup|ENOTFOUND/i.test(text)
      ? `Cannot listen on ${where}: ${text} (check the host name; use an IP address such as 127.0.0.1 or 0.0.0.0)`
      : `Cannot listen on ${where}: ${text}`,
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
