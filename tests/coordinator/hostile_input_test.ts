/**
 * A real coordinator process under hostile input (issue 15 items 5 and 6):
 * more connections than it has file descriptors, oversized and endless
 * request bodies, half-sent requests. It must stay up, keep serving its
 * registered agent, bound its memory and close what breaks the limits.
 */
import assert from "node:assert/strict";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import {
  type CoordinatorProcess,
  startCoordinator,
  writeDataset,
} from "./_process.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Upper bound for "eventually" (a hang guard, not a timing assertion). */
const GUARD_MS = 20_000;

function hostPort(url: string): { hostname: string; port: number } {
  const u = new URL(url);
  return { hostname: u.hostname, port: Number(u.port) };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Opens up to `n` TCP connections that send nothing. */
async function openIdle(url: string, n: number): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    try {
      conns.push(await Deno.connect(hostPort(url)));
    } catch {
      break; // the listen backlog is full: that is fine
    }
  }
  return conns;
}

/**
 * Reads until the peer closes. Resolves `true` when it did, `false` if it
 * was still open after the guard (a hang).
 */
async function closedByPeer(conn: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(4096);
  const guard = setTimeout(() => conn.close(), GUARD_MS);
  let peerClosed = false;
  try {
    while ((await conn.read(buf)) !== null) { /* drain */ }
    peerClosed = true;
  } catch (err) {
    peerClosed = !(err instanceof Deno.errors.BadResource);
  } finally {
    clearTimeout(guard);
  }
  if (peerClosed) {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return peerClosed;
}

/** Reads everything until the peer closes; `undefined` if it did not (hang guard). */
async function readUntilClosed(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(4096);
  let text = "";
  const guard = setTimeout(() => conn.close(), GUARD_MS);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
  } catch (err) {
    if (err instanceof Deno.errors.BadResource) return undefined;
  } finally {
    clearTimeout(guard);
  }
  try {
    conn.close();
  } catch { /* closed */ }
  return text;
}

/** Reads until an HTTP status line arrived; returns its code. */
async function readStatus(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed before a status line: "${text}"`);
    text += dec.decode(buf.subarray(0, n));
  }
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  assert.ok(m, `not a status line: ${text}`);
  return Number(m[1]);
}

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * POSTs a chunked body of up to `total` bytes, stopping as soon as the
 * server answers. Returns the status and the bytes sent by then.
 */
async function chunkedFlood(
  url: string,
  path: string,
  total: number,
): Promise<{ status: number; sent: number }> {
  const conn = await Deno.connect(hostPort(url));
  await writeAll(
    conn,
    enc.encode(
      `POST ${path} HTTP/1.1\r\nHost: flood\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ),
  );
  const chunk = new Uint8Array(65536);
  const frame = new Uint8Array([
    ...enc.encode(`${chunk.length.toString(16)}\r\n`),
    ...chunk,
    ...enc.encode("\r\n"),
  ]);
  let status: number | undefined;
  const answered = readStatus(conn).then((s) => {
    status = s;
    conn.close(); // unblocks a write the server no longer reads
    return s;
  }, () => undefined);
  let sent = 0;
  try {
    while (sent < total && status === undefined) {
      await writeAll(conn, frame);
      sent += chunk.length;
    }
    if (status === undefined) await writeAll(conn, enc.encode("0\r\n\r\n"));
  } catch { /* the server closed, or we did once it answered */ }
  const s = await answered;
  assert.ok(s !== undefined, "no HTTP answer to the oversized body");
  return { status: s, sent };
}

async function coordinator(
  args: string[],
  nofile?: number,
): Promise<CoordinatorProcess & AsyncDisposable> {
  const data = await Deno.makeTempDir({ prefix: "mx8-hostile-" });
  const store = await Deno.makeTempDir({ prefix: "mx8-hostile-store-" });
  await writeDataset(data, 4);
  const coord = await startCoordinator(
    [
      "--job-id",
      "hostile",
      "--dataset",
      data,
      "--manifest-store",
      store,
      ...args,
    ],
    {},
    { nofile },
  );
  return Object.assign(coord, {
    async [Symbol.asyncDispose]() {
      await coord.stop();
      await Deno.remove(data, { recursive: true });
      await Deno.remove(store, { recursive: true });
    },
  });
}

const job = { jobId: "hostile" };

async function floodAndRecover(
  coord: CoordinatorProcess,
  perPort: number,
  expectEvent: string,
): Promise<void> {
  // The registered agent keeps its one h2c connection throughout.
  using agent = createCoordinatorClient(coord.url, { timeoutMs: 10_000 });
  await agent.registerNode({ ...job, nodeId: "a" });
  const flood = [
    ...await openIdle(coord.url, perPort),
    ...await openIdle(coord.grpcUrl, perPort),
  ];
  const e = await coord.waitForEvent((e) => e.event === expectEvent);
  assert.ok(typeof e.listener === "string");
  // Still serving the agent while every descriptor is taken.
  for (let i = 0; i < 3; i++) {
    const hb = await agent.heartbeat({ ...job, nodeId: "a" });
    assert.ok(hb);
  }
  // The header timeout closes the flood's connections…
  const closed = await Promise.all(flood.map(closedByPeer));
  assert.equal(closed.filter((c) => !c).length, 0, "connections left open");
  // …and new clients are served again on both ports.
  const health = await fetch(`${coord.url}/healthz`);
  assert.equal(await health.text(), "ok\n");
  using grpcPort = createCoordinatorClient(coord.grpcUrl, {
    timeoutMs: 10_000,
  });
  assert.equal((await grpcPort.getJobSnapshot(job)).jobId, "hostile");
  assert.ok(alive(coord.pid));
}

Deno.test("hostile input: more idle connections than descriptors (ulimit -n 256) are capped; the agent is still served, and the flood is closed", async () => {
  await using coord = await coordinator(["--header-timeout-ms", "2000"], 256);
  await floodAndRecover(coord, 300, "connections_refused");
  const refused = coord.events().filter((e) =>
    e.event === "connections_refused"
  );
  // Rate-limited: one line (plus at most one per 10 s), not one per connection.
  assert.ok(refused.length <= 3, `${refused.length} refusal lines`);
  assert.equal(await coord.stop(), 0);
});

Deno.test("hostile input: accept errors (EMFILE, cap above the descriptor limit) are retried, not fatal", async () => {
  await using coord = await coordinator([
    "--header-timeout-ms",
    "2000",
    "--max-connections",
    "100000",
  ], 256);
  await floodAndRecover(coord, 300, "accept_failed");
  const failed = coord.events().find((e) => e.event === "accept_failed")!;
  assert.match(String(failed.error), /Too many open files/);
  assert.match(String(failed.hint), /ulimit -n/);
  assert.equal(await coord.stop(), 0);
});

Deno.test("hostile input: an endless chunked body is refused as it streams in, on both ports, and memory stays bounded", async () => {
  await using coord = await coordinator([]);
  const total = 256 * 1048576;
  for (const url of [coord.url, coord.grpcUrl]) {
    const before = rssBytes(coord.pid);
    const { status, sent } = await chunkedFlood(
      url,
      "/mx8.v1.Coordinator/Heartbeat",
      total,
    );
    assert.equal(status, 429, url); // ResourceExhausted
    assert.ok(sent < total / 4, `${url}: ${sent} bytes sent before the answer`);
    const grown = rssBytes(coord.pid) - before;
    assert.ok(grown < 64 * 1048576, `${url}: RSS grew ${grown} bytes`);
  }
  // A declared length above the limit is refused before any body byte…
  for (const url of [coord.url, coord.grpcUrl]) {
    const conn = await Deno.connect(hostPort(url));
    await writeAll(
      conn,
      enc.encode(
        "POST /mx8.v1.Coordinator/Heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 1073741824\r\n\r\n",
      ),
    );
    assert.equal(await readStatus(conn), 429, url);
    // …and the connection is closed, not left waiting for the body.
    assert.ok(await closedByPeer(conn), `${url}: refused body left open`);
  }
  assert.ok(alive(coord.pid));
});

Deno.test("hostile input: half-sent headers, idle keep-alive and stalled bodies are closed after their timeouts", async () => {
  await using coord = await coordinator([
    "--header-timeout-ms",
    "500",
    "--idle-timeout-ms",
    "1000",
    "--body-timeout-ms",
    "1000",
  ]);
  for (const url of [coord.url, coord.grpcUrl]) {
    // Half-sent request head.
    const half = await Deno.connect(hostPort(url));
    await writeAll(
      half,
      enc.encode("POST /mx8.v1.Coordinator/Heartbeat HTTP/1.1\r\nHost: x\r\n"),
    );
    assert.ok(await closedByPeer(half), `${url}: half-sent head left open`);
    // A stalled body: the connection goes (the main port answers first).
    const slow = await Deno.connect(hostPort(url));
    await writeAll(
      slow,
      enc.encode(
        "POST /mx8.v1.Coordinator/Heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 100\r\n\r\n0123456789",
      ),
    );
    const answer = await readUntilClosed(slow);
    assert.ok(answer !== undefined, `${url}: stalled body left open`);
    if (url === coord.url) {
      assert.match(answer, /^HTTP\/1\.1 504 /);
      assert.match(answer, /request body did not arrive within 1000 ms/);
    }
  }
  // An idle keep-alive connection after a request.
  const idle = await Deno.connect(hostPort(coord.url));
  await writeAll(idle, enc.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal(await readStatus(idle), 200);
  assert.ok(await closedByPeer(idle), "idle keep-alive connection left open");
  // The agent path still works.
  using client = createCoordinatorClient(coord.url, { timeoutMs: 10_000 });
  assert.equal(
    (await client.registerNode({ ...job, nodeId: "a" })).jobReady,
    true,
  );
});
