/**
 * The part both listeners share: bind a TCP port, then run our own accept
 * loop that counts every connection against a {@linkcode ConnectionGate}
 * and watches it with a {@linkcode ConnectionSweeper}. What serves an
 * admitted connection (Deno's HTTP stack, or `node:http`/`node:http2`) is
 * the caller's.
 *
 * @module
 */
import { acceptLoop } from "./accept_loop.ts";
import { ConnectionGate } from "./conn_limits.ts";
import { ConnectionSweeper } from "./conn_sweeper.ts";
import {
  type HttpListener,
  listenerOf,
  listenFailed,
  type ListenOptions,
  resolveLimits,
} from "./serve.ts";
import type { ConnectionLimits } from "./conn_limits.ts";

/** What a listener's connection server gets to work with. */
export interface LimitedListenContext {
  /** Listener name in events. */
  name: string;
  /** Resolved limits. */
  limits: ConnectionLimits;
  /** The gate every admitted connection holds a slot of. */
  gate: ConnectionGate;
  /** Closes connections that stay silent or idle too long. */
  sweeper: ConnectionSweeper;
}

/** How a listener serves the connections {@linkcode listenWithLimits} admits. */
export interface ConnectionServing {
  /** Serves one admitted connection; it must release its gate slot when it ends. */
  serve(conn: Deno.TcpConn): void;
  /** Ends the connections still open once accepting has stopped. */
  drain(): Promise<void> | void;
}

/**
 * Binds `options.hostname:options.port` and admits connections through the
 * gate to `setup`'s server.
 *
 * @param options Listener options.
 * @param defaultName Name in events when `options.name` is not set.
 * @param setup Builds the connection server from the listener's context.
 * @returns The listener once bound.
 * @throws {Mx8Error} If the address is in use or cannot be bound.
 *
 * @example
 * ```ts
 * import { listenWithLimits } from "./listen_limited.ts";
 * await using server = await listenWithLimits(
 *   { hostname: "127.0.0.1", port: 0 },
 *   "example",
 *   ({ gate }) => ({
 *     serve: (conn) => { conn.close(); gate.release(); },
 *     drain: () => {},
 *   }),
 * );
 * console.log(server.url);
 * ```
 */
export function listenWithLimits(
  options: Pick<
    ListenOptions,
    "hostname" | "port" | "limits" | "gate" | "onEvent" | "name"
  >,
  defaultName: string,
  setup: (context: LimitedListenContext) => ConnectionServing,
): Promise<HttpListener> {
  const where = `${options.hostname}:${options.port}`;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    });
  } catch (err) {
    return Promise.reject(
      listenFailed(where, err instanceof Deno.errors.AddrInUse, err),
    );
  }
  const name = options.name ?? defaultName;
  const limits = resolveLimits(options);
  const gate = options.gate ??
    new ConnectionGate(limits.maxConnections, options.onEvent);
  const sweeper = new ConnectionSweeper(limits);
  const serving = setup({ name, limits, gate, sweeper });
  let closed = false;
  const loop = acceptLoop(listener, (conn) => {
    if (closed || !gate.admit(name)) {
      conn.close();
      return;
    }
    serving.serve(conn);
  }, { name, emit: options.onEvent });
  const { hostname, port } = listener.addr;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      closed = true;
      listener.close();
      await loop;
      sweeper.stop();
      await serving.drain();
    })();
  return Promise.resolve(listenerOf(hostname, port, close));
}
