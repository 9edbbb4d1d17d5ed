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
 * @module
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { type HttpListener, httpUrl, listenFailed } from "./serve.ts";

/** A request handler both `node:http` and `node:http2` accept (e.g. `connectNodeAdapter`'s). */
export type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@linkcode listenNodeHttp}. */
export interface NodeListenOptions {
  /** Interface to bind, e.g. `127.0.0.1` or `0.0.0.0`. */
  hostname: string;
  /** Port; `0` picks a free one. */
  port: number;
  /** Close connections that send nothing for this long (ms). Defaults to 60 000. */
  idleTimeoutMs?: number;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Wraps a socket whose first bytes were already read in a duplex that
 * replays them, for `node:http2`, which reads sockets below the JS buffer.
 */
function replaying(socket: net.Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  duplex.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("error", (err) => duplex.destroy(err));
  socket.on("close", () => duplex.destroy());
  return duplex;
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
 * import { listenNodeHttp } from "./serve_node.ts";
 *
 * await using server = await listenNodeHttp((_req, res) => res.end("ok"), {
 *   hostname: "127.0.0.1", port: 0,
 * });
 * const res = await fetch(`${server.url}/healthz`);
 * assert.equal(await res.text(), "ok");
 * ```
 */
export async function listenNodeHttp(
  handler: NodeHandler,
  options: NodeListenOptions,
): Promise<HttpListener> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  // One request per HTTP/1.1 connection: under Deno 2.9 a socket handed to
  // node:http after its first bytes were read is closed after the first
  // response anyway, so say so (Connection: close) and clients reconnect
  // instead of failing with EPIPE on a reused socket. HTTP/2 multiplexes.
  const h1 = http.createServer((req, res) => {
    res.shouldKeepAlive = false;
    (handler as http.RequestListener)(req, res);
  });
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: 1000 } },
    handler as (
      req: http2.Http2ServerRequest,
      res: http2.Http2ServerResponse,
    ) => void,
  );
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Small RPC replies must not wait for delayed ACKs (Nagle): ~40 ms otherwise.
    socket.setNoDelay(true);
    sniff(socket, idleTimeoutMs, h1, h2);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const where = `${options.hostname}:${options.port}`;
      reject(listenFailed(where, err.code === "EADDRINUSE", err));
    });
    server.listen(options.port, options.hostname, () => resolve());
  });
  server.on("error", () => {});
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return {
    hostname: address.address,
    port: address.port,
    url: httpUrl(address.address, address.port),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function sniff(
  socket: net.Socket,
  idleTimeoutMs: number,
  h1: http.Server,
  h2: http2.Http2Server,
): void {
  let head: Buffer = Buffer.alloc(0);
  const onTimeout = () => socket.destroy();
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
    socket.off("timeout", onTimeout);
    socket.off("error", onError);
    socket.setTimeout(0);
    if (isH2) {
      h2.emit("connection", replaying(socket, head));
    } else {
      socket.unshift(head);
      h1.emit("connection", socket);
    }
  };
  socket.setTimeout(idleTimeoutMs);
  socket.on("timeout", onTimeout);
  socket.on("error", onError);
  socket.on("readable", onReadable);
}
