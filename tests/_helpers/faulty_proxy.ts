/**
 * Test helper: a loopback HTTP proxy in front of an S3 endpoint that fails
 * some requests (HTTP 503, or a dropped connection) to exercise retries.
 *
 * @module
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** A running faulty proxy. */
export interface FaultyProxy {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Requests seen. */
  readonly requests: number;
  /** Requests failed on purpose. */
  readonly failures: number;
  /** Stops the proxy. */
  close(): Promise<void>;
}

/** Which requests fail, and how. */
export interface FaultPlan {
  /** Fail request number `n` (1-based) when this returns a mode. */
  fail(
    n: number,
    method: string,
    url: string,
    range: string,
  ): "503" | "reset" | null;
  /** Extra latency added to every forwarded request, in ms (default 0). */
  delayMs?: number;
  /**
   * Holds request number `n` (never answered until the proxy closes) when
   * this returns true: a client stalled mid-way, deterministically.
   */
  hold?(n: number, method: string, url: string): boolean;
}

/**
 * Starts a proxy to `target` on 127.0.0.1 (random port). Host headers are
 * passed through unchanged so S3 signatures stay valid.
 *
 * @param target Upstream endpoint, e.g. `http://127.0.0.1:4568`.
 * @param plan Which requests to fail.
 * @returns The proxy.
 */
export async function startFaultyProxy(
  target: string,
  plan: FaultPlan,
): Promise<FaultyProxy> {
  const up = new URL(target);
  // Upstream connections are its own, so close() can end them: a pooled
  // keep-alive connection (or a delayed forward starting after close) would
  // keep the target server's close() waiting forever.
  const agent = new Agent({ keepAlive: false });
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;
  let requests = 0;
  let failures = 0;
  const server = createServer((req, res) => {
    const n = ++requests;
    const mode = plan.fail(
      n,
      req.method ?? "GET",
      req.url ?? "/",
      String(req.headers.range ?? ""),
    );
    if (mode === "503") {
      failures++;
      req.resume();
      res.writeHead(503, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>`,
      );
      return;
    }
    if (plan.hold?.(n, req.method ?? "GET", req.url ?? "/")) {
      req.resume();
      return;
    }
    if (mode === "reset") {
      failures++;
      req.socket.destroy();
      return;
    }
    const forward = () => {
      if (closed) {
        res.destroy();
        return;
      }
      const fwd = request({
        agent,
        host: up.hostname,
        port: Number(up.port),
        method: req.method,
        path: req.url,
        headers: req.headers,
      }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      fwd.on("error", () => res.destroy());
      req.pipe(fwd);
    };
    if (plan.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        forward();
      }, plan.delayMs);
      timers.add(t);
    } else forward();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get failures() {
      return failures;
    },
    close: () =>
      new Promise<void>((r) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        agent.destroy();
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
