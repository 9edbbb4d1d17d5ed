import assert from "node:assert/strict";
import { EtcdClient } from "../../lib/etcd/client.ts";
import {
  campaign,
  currentLeader,
  type ElectionEvent,
} from "../../lib/etcd/election.ts";
import { NotLeaderError } from "../../lib/errors.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";

const ignore = !HAS_ETCD;
const PREFIX = "/mx8/jobs/t/leader/";
const CANDIDATE = new URL("./_candidate.ts", import.meta.url).pathname;

/** A candidate process whose stdout lines are parsed as JSON. */
function spawnCandidate(endpoints: string[], value: string, ttlMs: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CANDIDATE,
      endpoints.join(","),
      PREFIX,
      value,
      String(ttlMs),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let buffer = "";
  const next = async (): Promise<Record<string, unknown>> => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`candidate ${value} exited`);
      buffer += value;
    }
    const nl = buffer.indexOf("\n");
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    return JSON.parse(line);
  };
  const writer = child.stdin.getWriter();
  const send = (line: string) =>
    writer.write(new TextEncoder().encode(line + "\n"));
  const close = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await writer.close().catch(() => {});
    await lines.cancel().catch(() => {});
    await child.status;
  };
  return { child, next, send, close };
}

Deno.test({
  name:
    "election: two candidates; the lower create revision leads; resign hands over",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const events: ElectionEvent[] = [];
    const a = await campaign(c, PREFIX, "http://a", {
      onEvent: (e) => events.push(e),
    });
    assert.ok(a.stillLeader());
    let bElected = false;
    const bPromise = campaign(c, PREFIX, "http://b").then((b) => {
      bElected = true;
      return b;
    });
    // B must be waiting: the leader key is still A's after B's key exists.
    for (let i = 0; i < 50; i++) {
      const r = await c.range(PREFIX, { prefix: true });
      if (r.count === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await currentLeader(c, PREFIX))?.value, "http://a");
    assert.equal(bElected, false);
    await a.fencedTxn([], [{ put: { key: "/mx8/jobs/t/meta", value: "a" } }]);
    await a.resign();
    assert.equal(a.stillLeader(), false);
    const b = await bPromise;
    assert.ok(b.token > a.token);
    assert.equal((await currentLeader(c, PREFIX))?.value, "http://b");
    assert.deepEqual(events.map((e) => e.type), [
      "leader_elected",
      "leader_lost",
    ]);
    // A, resigned, may not write any more.
    await assert.rejects(
      a.fencedTxn([], [{ put: { key: "/mx8/jobs/t/meta", value: "stale" } }]),
      NotLeaderError,
    );
    await b.fencedTxn([], [{ put: { key: "/mx8/jobs/t/meta", value: "b" } }]);
    assert.equal((await c.range("/mx8/jobs/t/meta")).kvs[0].value, "b");
    await b.resign();
  },
});

Deno.test({
  name:
    "election: kill -9 the leader process; the waiting candidate takes over after its TTL",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const a = spawnCandidate(etcd.endpoints, "http://a", 2000);
    try {
      assert.equal((await a.next()).type, "leader_elected");
      const waiting = campaign(c, PREFIX, "http://b", { ttlMs: 2000 });
      const killedAt = performance.now();
      a.child.kill("SIGKILL");
      const b = await waiting;
      const takeover = performance.now() - killedAt;
      console.log(
        `takeover after kill -9: ${Math.round(takeover)} ms (TTL 2000 ms)`,
      );
      assert.equal((await currentLeader(c, PREFIX))?.value, "http://b");
      assert.ok(b.stillLeader());
      await b.resign();
    } finally {
      await a.close();
    }
  },
});

Deno.test({
  name:
    "election: a leader SIGSTOPped past its TTL is refused on SIGCONT and steps down",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const a = spawnCandidate(etcd.endpoints, "http://a", 2000);
    try {
      const elected = await a.next();
      assert.equal(elected.type, "leader_elected");
      a.send("write /mx8/jobs/t/meta from-a");
      assert.deepEqual(await a.next(), {
        write: "ok",
        key: "/mx8/jobs/t/meta",
      });
      a.child.kill("SIGSTOP");
      const b = await campaign(c, PREFIX, "http://b", { ttlMs: 2000 });
      await b.fencedTxn([], [{
        put: { key: "/mx8/jobs/t/meta", value: "from-b" },
      }]);
      a.child.kill("SIGCONT");
      a.send("write /mx8/jobs/t/meta stale");
      const seen: Record<string, unknown>[] = [];
      while (!seen.some((e) => e.write !== undefined)) {
        seen.push(await a.next());
      }
      const rejected = seen.filter((e) => e.type === "fenced_write_rejected");
      assert.ok(rejected.length >= 1, JSON.stringify(seen));
      assert.deepEqual(seen.at(-1)?.write, "rejected");
      assert.ok(
        seen.some((e) => e.type === "leader_lost"),
        JSON.stringify(seen),
      );
      assert.equal((await c.range("/mx8/jobs/t/meta")).kvs[0].value, "from-b");
      await b.resign();
    } finally {
      await a.close();
    }
  },
});

Deno.test({
  name:
    "election: etcd refuses a stale leader's write whose own clock still trusts it",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const events: ElectionEvent[] = [];
    // A long TTL: A's own clock keeps trusting it for the whole test.
    const a = await campaign(c, PREFIX, "http://a", {
      ttlMs: 30_000,
      onEvent: (e) => events.push(e),
    });
    // Its lease ends in etcd (as when keepalives stop reaching etcd) ...
    await c.leaseRevoke(a.leaseId);
    const b = await campaign(c, PREFIX, "http://b", { ttlMs: 30_000 });
    assert.ok(a.stillLeader(), "A's clock should still trust it");
    // ... so A's next write fails the token compare in etcd.
    await assert.rejects(
      a.fencedTxn([], [{ put: { key: "/mx8/jobs/t/data", value: "stale" } }]),
      (e: unknown) => e instanceof NotLeaderError && e.reason === "fenced",
    );
    assert.equal(a.stillLeader(), false);
    assert.equal((await c.range("/mx8/jobs/t/data")).count, 0);
    assert.deepEqual(events.map((e) => e.type), [
      "leader_elected",
      "fenced_write_rejected",
      "leader_lost",
    ]);
    assert.equal(
      events[1].type === "fenced_write_rejected" && events[1].by,
      "etcd",
    );
    // The caller's own compare failing is a conflict: B steps down too.
    await b.fencedTxn([], [{ put: { key: "/mx8/jobs/t/data", value: "b1" } }]);
    await assert.rejects(
      b.fencedTxn(
        [{ key: "/mx8/jobs/t/data", target: "value", op: "=", value: "other" }],
        [{ put: { key: "/mx8/jobs/t/data", value: "b2" } }],
      ),
      (e: unknown) => e instanceof NotLeaderError && e.reason === "conflict",
    );
    assert.equal((await c.range("/mx8/jobs/t/data")).kvs[0].value, "b1");
    assert.equal(await currentLeader(c, PREFIX), undefined);
  },
});

Deno.test({
  name:
    "election: a fenced write waits out an etcd stall shorter than the leadership left (no step-down on the client timeout)",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    // The client's own timeout is short; leadership lasts TTL − margin.
    const client = new EtcdClient(etcd.endpoints, { timeoutMs: 300 });
    const events: ElectionEvent[] = [];
    const lead = await campaign(client, PREFIX, "http://a", {
      ttlMs: 4000,
      onEvent: (e) => events.push(e),
    });
    const member = etcd.members[0].process;
    member.kill("SIGSTOP");
    const resume = setTimeout(() => member.kill("SIGCONT"), 800);
    try {
      const result = await lead.fencedTxn([], [
        { put: { key: "/mx8/jobs/t/meta", value: "{}" } },
      ]);
      assert.ok(result.revision > lead.token);
      assert.ok(lead.stillLeader());
      assert.deepEqual(events.map((e) => e.type), ["leader_elected"]);
    } finally {
      clearTimeout(resume);
      member.kill("SIGCONT");
      await lead.resign();
    }
  },
});

Deno.test({
  name:
    "election: a campaign aborted while its lease is being granted does not win (a closing replica never leads)",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const client = new EtcdClient(etcd.endpoints);
    const ac = new AbortController();
    // The abort lands while the campaign awaits etcd (lease grant, key).
    const started = campaign(client, PREFIX, "http://a", {
      ttlMs: 2000,
      signal: ac.signal,
    });
    ac.abort();
    await assert.rejects(
      started,
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    assert.equal(await currentLeader(client, PREFIX), undefined);
  },
});

/**
 * An HTTP proxy to etcd that holds back the answers of `/v3/kv/txn` by
 * `delayMs` once set (keepalives and reads pass at once): a write slowed
 * down while the lease stays alive.
 */
function slowTxnProxy(target: string) {
  const state = { delayMs: 0 };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const answer = await fetch(target + url.pathname, {
        method: req.method,
        headers: req.headers,
        body: await req.arrayBuffer(),
      });
      const body = await answer.arrayBuffer();
      if (url.pathname === "/v3/kv/txn") {
        await new Promise((r) => setTimeout(r, state.delayMs));
      }
      return new Response(body, {
        status: answer.status,
        headers: answer.headers,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    state,
    close: () => server.shutdown(),
  };
}

Deno.test({
  name:
    "election: a fenced write slower than the leadership left when it was sent, while keepalives go on, does not depose the leader",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const client = new EtcdClient(etcd.endpoints);
    const events: ElectionEvent[] = [];
    const lead = await campaign(client, PREFIX, "http://a", {
      ttlMs: 2000,
      onEvent: (e) => events.push(e),
    });
    // The txn's answer takes longer than TTL − margin (1.5 s), the most
    // leadership left at any send; keepalives keep extending it meanwhile.
    const proxy = slowTxnProxy(etcd.endpoints[0]);
    const slow = new EtcdClient([proxy.url]);
    try {
      const viaProxy = await campaign(
        slow,
        "/mx8/jobs/t2/leader/",
        "http://b",
        {
          ttlMs: 2000,
          onEvent: (e) => events.push(e),
        },
      );
      proxy.state.delayMs = 1700;
      const result = await viaProxy.fencedTxn([], [
        { put: { key: "/mx8/jobs/t2/meta", value: "{}" } },
      ]);
      assert.ok(result.revision > viaProxy.token);
      assert.ok(viaProxy.stillLeader(), `lost: ${viaProxy.lostReason}`);
      assert.deepEqual(
        events.filter((e) => e.type !== "leader_elected"),
        [],
      );
      await viaProxy.resign();
    } finally {
      await proxy.close();
      await lead.resign();
    }
  },
});
