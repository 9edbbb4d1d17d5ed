import assert from "node:assert/strict";
import { EtcdClient } from "../../lib/etcd/client.ts";
import { EtcdError } from "../../lib/errors.ts";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";

/** Turns auth on through the gateway: a root user with the root role. */
async function enableAuth(endpoint: string, password: string): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${endpoint}/v3/auth/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`auth/${path}: ${r.status} ${text}`);
  };
  await post("user/add", { name: "root", password });
  await post("role/add", { name: "root" });
  await post("user/grant", { user: "root", role: "root" });
  await post("enable", {});
}

Deno.test({
  name:
    "etcd client: with auth enabled it authenticates, sends its token on writes, reads and watches, and names the fix without credentials",
  ignore: !HAS_ETCD,
  async fn() {
    await using etcd = await startEtcd(1);
    await enableAuth(etcd.endpoints[0], "s3cret");

    const anonymous = new EtcdClient(etcd.endpoints);
    await assert.rejects(
      anonymous.put("/mx8/a", "1"),
      (e: unknown) =>
        e instanceof EtcdError && /--ha-etcd-user/.test(e.message),
    );
    const wrong = new EtcdClient(etcd.endpoints, {
      auth: { user: "root", password: "nope" },
    });
    await assert.rejects(
      wrong.put("/mx8/a", "1"),
      (e: unknown) =>
        e instanceof EtcdError && /--ha-etcd-user/.test(e.message),
    );

    const c = new EtcdClient(etcd.endpoints, {
      auth: { user: "root", password: "s3cret" },
    });
    const abort = new AbortController();
    const watched = (async () => {
      const batches = c.watch("/mx8/", { prefix: true, signal: abort.signal });
      const first = await batches.next();
      return first.done ? undefined : first.value.events[0].kv.value;
    })();
    await new Promise((r) => setTimeout(r, 200)); // the watch is open
    await c.put("/mx8/a", "1");
    const txn = await c.txn(
      [{ key: "/mx8/a", target: "value", op: "=", value: "1" }],
      [{ put: { key: "/mx8/b", value: "2" } }],
    );
    assert.equal(txn.succeeded, true);
    assert.equal((await c.range("/mx8/b")).kvs[0].value, "2");
    // Txns over gRPC carry the token as `token` metadata.
    const g = new EtcdClient(etcd.endpoints, {
      auth: { user: "root", password: "s3cret" },
      grpc: true,
    });
    const anonymousGrpc = new EtcdClient(etcd.endpoints, { grpc: true });
    await assert.rejects(
      anonymousGrpc.txn([], [{ put: { key: "/mx8/g", value: "0" } }]),
      (e: unknown) =>
        e instanceof EtcdError && /--ha-etcd-user/.test(e.message),
    );
    anonymousGrpc.close();
    await g.txn([], [{ put: { key: "/mx8/g", value: "1" } }]);
    assert.equal((await c.range("/mx8/g")).kvs[0].value, "1");
    assert.equal(await watched, "1");
    abort.abort();

    // Auth turned off and on again drops every token: the client
    // authenticates again once and goes on.
    const token = await (await fetch(
      `${etcd.endpoints[0]}/v3/auth/authenticate`,
      {
        method: "POST",
        body: JSON.stringify({ name: "root", password: "s3cret" }),
      },
    )).json();
    await fetch(`${etcd.endpoints[0]}/v3/auth/disable`, {
      method: "POST",
      headers: { Authorization: token.token },
      body: "{}",
    });
    await fetch(`${etcd.endpoints[0]}/v3/auth/enable`, {
      method: "POST",
      body: "{}",
    });
    await c.put("/mx8/c", "3");
    assert.equal((await c.range("/mx8/c")).kvs[0].value, "3");
    await g.txn([], [{ put: { key: "/mx8/g", value: "2" } }]);
    assert.equal((await c.range("/mx8/g")).kvs[0].value, "2");
    g.close();
    await assert.rejects(anonymous.range("/mx8/c"), EtcdError);
  },
});
