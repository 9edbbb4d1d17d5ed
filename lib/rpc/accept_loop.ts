/**
 * An accept loop that survives accept errors: out of file descriptors
 * (`EMFILE`), out of kernel memory and the like are reported (rate-limited)
 * and retried with exponential backoff (10 ms → 1 s) instead of ending the
 * listener or the process. It ends only when the listener is closed.
 *
 * @module
 */
import { RateLimitedEvent, type ServerEvent } from "./conn_limits.ts";

const FIRST_BACKOFF_MS = 10;
const MAX_BACKOFF_MS = 1000;

/**
 * Accepts connections until `listener` is closed, passing each to `onConn`.
 *
 * @param listener A TCP listener.
 * @param onConn Takes ownership of each accepted connection.
 * @param options `name` (named in events) and `emit` (event sink).
 * @returns Resolves once the listener is closed.
 *
 * @example Accept one connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptLoop } from "./accept_loop.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * let accepted = 0;
 * const loop = acceptLoop(listener, (conn) => { accepted++; conn.close(); }, { name: "test" });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * while (accepted === 0) await new Promise((r) => setTimeout(r, 10));
 * client.close();
 * listener.close();
 * await loop;
 * assert.equal(accepted, 1);
 * ```
 */
export async function acceptLoop(
  listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
  onConn: (conn: Deno.TcpConn) => void,
  options: { name: string; emit?: (event: ServerEvent) => void },
): Promise<void> {
  const failed = new RateLimitedEvent(options.emit ?? (() => {}));
  let backoffMs = 0;
  while (true) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (
        err instanceof Deno.errors.BadResource ||
        err instanceof Deno.errors.Interrupted
      ) {
        return; // closed
      }
      backoffMs = Math.min(
        MAX_BACKOFF_MS,
        Math.max(FIRST_BACKOFF_MS, backoffMs * 2),
      );
      failed.hit({
        event: "accept_failed",
        listener: options.name,
        error: err instanceof Error ? err.message : String(err),
        retry_in_ms: backoffMs,
        hint: /os error 24|too many open files/i.test(String(err))
          ? "out of file descriptors: raise ulimit -n, or lower --max-connections"
          : "retrying",
      });
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      continue;
    }
    backoffMs = 0;
    onConn(conn);
  }
}
