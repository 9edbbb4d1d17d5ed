import assert from "node:assert/strict";
import { EtcdClient } from "../../lib/etcd/client.ts";
import { EtcdError } from "../../lib/errors.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";

const ignore = !HAS_ETCD;

Deno.test({
  name: "etcd client: put, range, prefix scan, delete against real etcd",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const rev = await c.put("/t/a", "1");
    assert.ok(rev > 0);
    await c.put("/t/b", "ünï");
    await c.put("/u/c", "3");
    const one = await c.range("/t/a");
    assert.equal(one.kvs.length, 1);
    assert.equal(one.kvs[0].value, "1");
    assert.equal(one.kvs[0].createRevision, rev);
    const all = await c.range("/t/", { prefix: true });
    assert.deepEqual(all.kvs.map((k) => [k.key, k.value]), [["/t/a", "1"], [
      "/t/b",
      "ünï",
    ]]);
    assert.equal((await c.range("/missing")).kvs.length, 0);
    const limited = await c.range("/", { prefix: true, limit: 1 });
    assert.equal(limited.kvs.length, 1);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 3);
    assert.equal(await c.delete("/t/", { prefix: true }), 2);
    assert.equal((await c.range("/t/", { prefix: true })).count, 0);
  },
});

Deno.test({
  name: "etcd client: txn runs one branch atomically; failed txn reads false",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const rev = await c.put("/k", "v1");
    const ok = await c.txn(
      [{ key: "/k", target: "create", op: "=", value: rev }],
      [{ put: { key: "/k", value: "v2" } }, {
        put: { key: "/k2", value: "x" },
      }],
      [{ range: { key: "/k" } }],
    );
    assert.equal(ok.succeeded, true);
    assert.equal(ok.results.length, 2);
    const bad = await c.txn(
      [{ key: "/k", target: "create", op: "=", value: rev + 99 }],
      [{ put: { key: "/k", value: "never" } }],
      [{ range: { key: "/k" } }],
    );
    assert.equal(bad.succeeded, false);
    const read = bad.results[0];
    assert.ok("range" in read);
    assert.equal(read.range.kvs[0].value, "v2");
    const byValue = await c.txn(
      [{ key: "/k", target: "value", op: "=", value: "v2" }, {
        key: "/absent",
        target: "version",
        op: "=",
        value: 0,
      }],
      [{ delete: { key: "/k" } }],
    );
    assert.equal(byValue.succeeded, true);
    assert.deepEqual(byValue.results, [{ delete: { deleted: 1 } }]);
    // etcd's 128-operation limit is a typed error, not a crash.
    const many = Array.from({ length: 129 }, (_, i) => ({
      put: { key: `/many/${i}`, value: "x" },
    }));
    await assert.rejects(
      c.txn([], many),
      (e: unknown) =>
        e instanceof EtcdError && e.code === 3 &&
        /too many operations/.test(e.message) && e.path === "/v3/kv/txn",
    );
    await c.txn([], many.slice(0, 128)).then((r) => assert.ok(r.succeeded));
  },
});

Deno.test({
  name: "etcd client: leases bind keys; a revoked lease's keepalive has no TTL",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const lease = await c.leaseGrant(2);
    assert.equal(lease.ttl, 2);
    assert.ok(/^\d+$/.test(lease.id));
    await c.put("/owned", "x", lease.id);
    assert.equal((await c.range("/owned")).kvs[0].lease, lease.id);
    assert.equal(await c.leaseKeepAlive(lease.id), 2);
    assert.ok((await c.leaseTimeToLive(lease.id)) > 0);
    await c.leaseRevoke(lease.id);
    await c.leaseRevoke(lease.id); // revoking twice is fine
    assert.equal(await c.leaseKeepAlive(lease.id), 0);
    assert.equal(await c.leaseTimeToLive(lease.id), -1);
    assert.equal((await c.range("/owned")).count, 0);
    await assert.rejects(
      c.put("/owned", "x", lease.id),
      (e: unknown) =>
        e instanceof EtcdError && e.code === 5 &&
        /lease not found/.test(e.message),
    );
  },
});

Deno.test({
  name: "etcd client: watch yields puts and deletes from a start revision",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const c = new EtcdClient(etcd.endpoints);
    const first = await c.put("/w/a", "1");
    const abort = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (
        const batch of c.watch("/w/", {
          prefix: true,
          startRevision: first,
          signal: abort.signal,
        })
      ) {
        for (const e of batch.events) {
          seen.push(`${e.type} ${e.kv.key} ${e.kv.value}`);
        }
        if (seen.length >= 3) abort.abort();
      }
    })();
    await c.put("/w/b", "2");
    await c.put("/other", "ignored");
    await c.delete("/w/a");
    await done;
    assert.deepEqual(seen, ["put /w/a 1", "put /w/b 2", "delete /w/a "]);
  },
});

Deno.test({
  name: "etcd client: unreachable endpoints are a typed error naming them",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    const url = etcd.endpoints[0];
    await etcd.kill(etcd.members[0]);
    const c = new EtcdClient([url], { timeoutMs: 500 });
    await assert.rejects(
      c.range("/x"),
      (e: unknown) =>
        e instanceof EtcdError && e.code === 14 && e.message.includes(url),
    );
    assert.throws(() => new EtcdClient([]), /--ha-etcd/);
    assert.throws(
      () => new EtcdClient(["nope"]),
      /Invalid etcd endpoint "nope"/,
    );
  },
});

Deno.test({
  name:
    "etcd client: three members; kill -9 the raft leader, the client fails over",
  ignore,
  async fn() {
    await using etcd = await startEtcd(3);
    const leader = await etcd.leader();
    // Put the dead member first so the client must skip it.
    const order = [
      leader.clientUrl,
      ...etcd.endpoints.filter((u) => u !== leader.clientUrl),
    ];
    const c = new EtcdClient(order, { timeoutMs: 1000 });
    await c.put("/before", "1");
    await etcd.kill(leader);
    let written = false;
    for (let i = 0; i < 50 && !written; i++) {
      try {
        await c.put("/after", "2");
        written = true;
      } catch (e) {
        assert.ok(e instanceof EtcdError, String(e));
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(written, "no write succeeded after the raft leader died");
    const r = await c.range("/", { prefix: true });
    assert.deepEqual(r.kvs.map((k) => k.key), ["/after", "/before"]);
    const survivor = await etcd.leader();
    assert.notEqual(survivor.name, leader.name);
  },
});

Deno.test({
  name:
    "etcd client: txns over gRPC answer as the gateway does (branches, reads, deletes, leases, errors, abort, failover)",
  ignore,
  async fn() {
    await using etcd = await startEtcd(1);
    // The first endpoint refuses connections: nothing was sent, so the
    // write goes to the next one.
    const dead = `http://127.0.0.1:${freePort()}`;
    const g = new EtcdClient([dead, ...etcd.endpoints], { grpc: true });
    const j = new EtcdClient(etcd.endpoints);
    try {
      const ok = await g.txn(
        [{ key: "/g/a", target: "mod", op: "=", value: 0 }],
        [{ put: { key: "/g/a", value: "ünï" } }, {
          put: { key: "/g/b", value: "" },
        }],
        [{ range: { key: "/g/a" } }],
      );
      assert.equal(ok.succeeded, true);
      assert.deepEqual(ok.results, [{ put: { revision: ok.revision } }, {
        put: { revision: ok.revision },
      }]);
      // The same failed txn, both ways: identical answers.
      const compares = [{
        key: "/g/a",
        target: "mod" as const,
        op: "=" as const,
        value: 0,
      }];
      const viaGrpc = await g.txn(compares, [], [{ range: { key: "/g/a" } }]);
      const viaJson = await j.txn(compares, [], [{ range: { key: "/g/a" } }]);
      assert.deepEqual(viaGrpc, viaJson);
      assert.equal(viaGrpc.succeeded, false);
      const read = viaGrpc.results[0];
      assert.ok("range" in read && read.range.kvs[0].value === "ünï");
      // Value compares, prefix deletes.
      const del = await g.txn(
        [{ key: "/g/a", target: "value", op: "=", value: "ünï" }],
        [{ delete: { key: "/g/", prefix: true } }],
      );
      assert.deepEqual(del.results, [{ delete: { deleted: 2 } }]);
      // A key bound to a lease.
      const lease = await j.leaseGrant(5);
      await g.txn([], [{ put: { key: "/g/l", value: "1", lease: lease.id } }]);
      assert.equal((await j.range("/g/l")).kvs[0].lease, lease.id);
      // etcd's refusals keep their code and message.
      await assert.rejects(
        g.txn([], [{ put: { key: "/g/x", value: "1", lease: "12345" } }]),
        (e: unknown) =>
          e instanceof EtcdError && e.code === 5 && /lease not found/.test(
            e.message,
          ),
      );
      await assert.rejects(
        g.txn(
          [],
          Array.from(
            { length: 129 },
            (_, i) => ({ put: { key: `/g/${i}`, value: "v" } }),
          ),
        ),
        (e: unknown) => e instanceof EtcdError && e.code === 3,
      );
      // The caller stops waiting: code 1 (outcome unknown).
      const abort = new AbortController();
      const pending = g.txn([], [{ put: { key: "/g/y", value: "1" } }], [], {
        signal: abort.signal,
      });
      abort.abort(new Error("leadership ended"));
      await assert.rejects(
        pending,
        (e: unknown) =>
          e instanceof EtcdError && e.code === 1 &&
          /leadership ended/.test(e.message),
      );
      // Only the dead endpoint: it names the fix.
      const none = new EtcdClient([dead], { grpc: true });
      await assert.rejects(
        none.txn([], [{ put: { key: "/g/z", value: "1" } }]),
        (e: unknown) =>
          e instanceof EtcdError && e.code === 14 &&
          /--ha-etcd/.test(e.message),
      );
      none.close();
    } finally {
      g.close();
    }
  },
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
