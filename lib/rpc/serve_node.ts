/**
 * The gRPC-capable listener: one TCP port serving both HTTP/1.1 and h2c
 * (HTTP/2 with prior knowledge, no TLS) through `node:http` / `node:http2`,
 * which, unlike `Deno.serve`, can send HTTP/2 trailers (gRPC's status). It
 * costs about twice the CPU per request of `listenHttp`'s
 * `Deno.serve`, because every byte passes through JavaScript streams, so the
 * coordinator serves its agents on `listenHttp` and gRPC clients here.
 *
 * `node:http2`'s `allowHTTP1` only applies to TLS (it keys off ALPN), so each
 * connection is sniffed instead: one that opens with the HTTP/2 client
 * preface goes to an `http2` server, anything else to an `http` server.
 * HTTP/1.1 `Upgrade: h2c` is not supported (clients use prior knowledge);
 * HTTP/1.1 connections carry one request each (`Connection: close`).
 *
 * The listener and accept loop are ours, as in `listenHttp` (`node:net`'s
 * server silently stops accepting after `EMFILE` under Deno): connections
 * are counted against a {@linkcode ConnectionGate}, and a
 * {@linkcode ConnectionSweeper} closes those that send no first bytes within
 * the header timeout or move no byte for the idle timeout.
 *
 * @module
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { connDuplex } from "./conn_duplex.ts";
import type { SweptConnection } from "./conn_sweeper.ts";
import { listenWithLimits } from "./listen_limited.ts";
import type { HttpListener, ListenOptions } from "./serve.ts";

/** A request handler both `node:http` and `node:http2` accept (e.g. `connectNodeAdapter`'s). */
export type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@linkcode listenNodeHttp}. */
export type NodeListenOptions = Pick<
  ListenOptions,
  "hostname" | "port" | "limits" | "gate" | "onEvent" | "name"
>;

/** The sweeper entry of a connection, on its duplex (readable through node's socket proxies). */
const ENTRY = Symbol("mx8.sweptConnection");

/** Counts a request in flight on its connection until its response closes. */
function track(
  socket: unknown,
  res: http.ServerResponse | http2.Http2ServerResponse,
): void {
  const entry = (socket as { [ENTRY]?: SweptConnection } | null)?.[ENTRY];
  if (entry === undefined) return;
  entry.active++;
  res.once("close", () => {
    entry.active--;
    entry.lastActiveAt = performance.now();
  });
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

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
 * import { listenNodeHttp } from "./serve_node.ts";
 *
 * await using server = await listenNodeHttp((_req, res) => res.end("ok"), {
 *   hostname: "127.0.0.1", port: 0,
 * });
 * const res = await fetch(`${server.url}/healthz`);
 * assert.equal(await res.text(), "ok");
 * ```
 */
export function listenNodeHttp(
  handler: NodeHandler,
  options: NodeListenOptions,
): Promise<HttpListener> {
  return listenWithLimits(options, "grpc", ({ limits, gate, sweeper }) => {
    // One request per HTTP/1.1 connection (Connection: close), as before the
    // accept loop was ours: clients reconnect. HTTP/2 multiplexes.
    const h1 = http.createServer((req, res) => {
      res.shouldKeepAlive = false;
      track(req.socket, res);
      (handler as http.RequestListener)(req, res);
    });
    h1.headersTimeout = limits.headerTimeoutMs;
    h1.requestTimeout = limits.headerTimeoutMs + limits.bodyTimeoutMs;
    const h2 = http2.createServer(
      { settings: { maxConcurrentStreams: 128 } },
      (req, res) => {
        track(req.socket, res);
        handler(req, res);
      },
    );
    h1.on("clientError", (_err, socket) => socket.destroy());
    h2.on("sessionError", () => {});
    const duplexes = new Set<Duplex>();
    return {
      serve: (conn) => {
        try {
          conn.setNoDelay(true);
        } catch { /* closed already */ }
        const entry: SweptConnection = {
          acceptedAt: performance.now(),
          lastActiveAt: performance.now(),
          active: 0,
          started: false,
          kill: () => duplex.destroy(),
        };
        const duplex = connDuplex(conn, () => {
          entry.lastActiveAt = performance.now();
        });
        (duplex as Duplex & { [ENTRY]?: SweptConnection })[ENTRY] = entry;
        duplexes.add(duplex);
        sweeper.add(entry);
        duplex.on("close", () => {
          duplexes.delete(duplex);
          sweeper.delete(entry);
          gate.release();
        });
        sniff(duplex, () => entry.started = true, h1, h2);
      },
      drain: () => {
        for (const d of duplexes) d.destroy();
      },
    };
  });
}

/**
 * Reads a connection's first bytes, then hands it (bytes put back) to the
 * HTTP/2 server if they are the client preface, else to the HTTP/1.1 one.
 */
function sniff(
  socket: Duplex,
  onStarted: () => void,
  h1: http.Server,
  h2: http2.Http2Server,
): void {
  let head: Buffer = Buffer.alloc(0);
  const onError = () => socket.destroy();
  const onReadable = () => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    }
    const n = Math.min(head.length, PREFACE.length);
    const isH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (n === 0 || (isH2 && head.length < PREFACE.length)) return;
    socket.off("readable", onReadable);
    socket.off("error", onError);
    onStarted();
    socket.unshift(head);
    (isH2 ? h2 : h1).emit("connection", socket);
  };
  socket.on("error", onError);
  socket.on("readable", onReadable);
}
