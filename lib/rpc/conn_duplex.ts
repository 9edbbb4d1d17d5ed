/**
 * A Deno TCP connection as a `node:stream` `Duplex`, so connections accepted
 * by our own accept loop can be handed to `node:http` / `node:http2`
 * servers (`server.emit("connection", duplex)`). Reads are pulled on demand
 * (backpressure: nothing is read while the consumer's buffer is full), and
 * every byte moved in either direction is reported to `onActivity` (idle
 * tracking).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";

const READ_CHUNK = 16384;

/**
 * Wraps `conn` in a `Duplex` that owns it (destroying the duplex closes it).
 *
 * @param conn The connection.
 * @param onActivity Called whenever bytes are read or written.
 * @returns The duplex.
 *
 * @example Echo through a duplex
 * ```ts
 * import assert from "node:assert/strict";
 * import { connDuplex } from "./conn_duplex.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const duplex = connDuplex(await listener.accept(), () => {});
 * duplex.on("data", (chunk) => duplex.write(chunk));
 * await client.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * assert.equal(await client.read(buf), 2);
 * client.close();
 * duplex.destroy();
 * listener.close();
 * ```
 */
export function connDuplex(conn: Deno.Conn, onActivity: () => void): Duplex {
  let pulling = false;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const duplex: Duplex = new Duplex({
    read() {
      if (pulling) return;
      pulling = true;
      (async () => {
        try {
          while (true) {
            const buf = new Uint8Array(READ_CHUNK);
            const n = await conn.read(buf);
            if (n === null) {
              duplex.push(null);
              return;
            }
            onActivity();
            if (!duplex.push(Buffer.from(buf.buffer, 0, n))) return;
          }
        } catch (err) {
          if (!closed) duplex.destroy(err as Error);
        } finally {
          pulling = false;
        }
      })();
    },
    write(chunk: Buffer, _encoding, callback) {
      (async () => {
        let at = 0;
        while (at < chunk.byteLength) {
          at += await conn.write(chunk.subarray(at));
          onActivity();
        }
      })().then(() => callback(), (err) => callback(err));
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), () => callback());
    },
    destroy(err, callback) {
      close();
      callback(err);
    },
  });
  // node:http and node:http2 call these on sockets.
  const socket = duplex as Duplex & Record<string, unknown>;
  socket.setNoDelay = () => socket;
  socket.setKeepAlive = () => socket;
  socket.setTimeout = () => socket;
  socket.ref = () => socket;
  socket.unref = () => socket;
  const remote = conn.remoteAddr as Deno.NetAddr;
  const local = conn.localAddr as Deno.NetAddr;
  socket.remoteAddress = remote.hostname;
  socket.remotePort = remote.port;
  socket.localAddress = local.hostname;
  socket.localPort = local.port;
  return duplex;
}
