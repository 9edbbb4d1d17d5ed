import assert from "node:assert/strict";
import type { Compare, Op } from "../../lib/etcd/types.ts";
import { TxnPipeline } from "../../lib/ha/pipeline.ts";

/**
 * A send function the test answers by hand, in any order, with etcd's
 * rules for the compares: each key's mod revision must match.
 */
function manualEtcd() {
  const store = new Map<string, { value: string; mod: number }>();
  let revision = 100;
  const sent: {
    compares: Compare[];
    ops: Op[];
    answer: () => void;
    fail: (err: Error) => void;
  }[] = [];
  const send = (compares: Compare[], ops: Op[]) =>
    new Promise<{ revision: number }>((resolve, reject) => {
      sent.push({
        compares,
        ops,
        answer: () => {
          for (const c of compares) {
            const mod = store.get(c.key)?.mod ?? 0;
            if (mod !== c.value) {
              reject(new Error(`compare failed on ${c.key}`));
              return;
            }
          }
          revision++;
          for (const op of ops) {
            if ("put" in op) {
              store.set(op.put.key, { value: op.put.value, mod: revision });
            } else if ("delete" in op) store.delete(op.delete.key);
          }
          resolve({ revision });
        },
        fail: reject,
      });
    });
  return { store, sent, send };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("pipeline: txns on disjoint keys are in flight together and commit in any order", async () => {
  const etcd = manualEtcd();
  const p = new TxnPipeline(etcd.send, new Map());
  const a = p.submit([{ key: "/r/1", value: "grant 1" }]);
  const b = p.submit([{ key: "/r/2", value: "grant 2" }]);
  await tick();
  assert.equal(etcd.sent.length, 2, "both sent before either answered");
  assert.equal(p.inflight, 2);
  etcd.sent[1].answer(); // the later one lands first
  assert.equal(await b, 1);
  etcd.sent[0].answer();
  assert.equal(await a, 1);
  assert.equal(p.inflight, 0);
  assert.equal(etcd.store.get("/r/1")?.value, "grant 1");
  assert.equal(etcd.store.get("/r/2")?.value, "grant 2");
});

Deno.test("pipeline: a txn on a key in flight is sent only after it, comparing the revision it produced", async () => {
  const etcd = manualEtcd();
  const revisions = new Map([["/m/n1", 7]]);
  etcd.store.set("/m/n1", { value: "member", mod: 7 });
  const p = new TxnPipeline(etcd.send, revisions);
  const grant = p.submit([{ key: "/r/5", value: "leased" }]);
  const done = p.submit([
    { key: "/r/5", value: "done" },
    { key: "/m/n1", value: "member, done 5" },
  ]);
  const other = p.submit([{ key: "/r/9", value: "leased" }]);
  await tick();
  // The completion waits for the grant; the unrelated grant does not.
  assert.deepEqual(
    etcd.sent.map((t) => t.ops.map((o) => "put" in o ? o.put.key : "")),
    [["/r/5"], ["/r/9"]],
  );
  assert.deepEqual(etcd.sent[0].compares, [
    { key: "/r/5", target: "mod", op: "=", value: 0 },
  ]);
  etcd.sent[0].answer(); // revision 101
  await grant;
  await tick();
  assert.equal(etcd.sent.length, 3);
  assert.deepEqual(etcd.sent[2].compares, [
    { key: "/r/5", target: "mod", op: "=", value: 101 },
    { key: "/m/n1", target: "mod", op: "=", value: 7 },
  ]);
  etcd.sent[2].answer();
  etcd.sent[1].answer();
  await Promise.all([done, other]);
  assert.equal(etcd.store.get("/r/5")?.value, "done");
  assert.equal(revisions.get("/r/5"), etcd.store.get("/r/5")?.mod);
});

Deno.test("pipeline: a put then a delete of one key land in that order, however etcd answers", async () => {
  const etcd = manualEtcd();
  const p = new TxnPipeline(etcd.send, new Map());
  const put = p.submit([{ key: "/k", value: "v" }]);
  const del = p.submit([{ key: "/k", value: null }]);
  const put2 = p.submit([{ key: "/k", value: "w" }]);
  for (const want of [1, 2, 3]) {
    await tick();
    assert.equal(etcd.sent.length, want, "one at a time on one key");
    etcd.sent[want - 1].answer();
  }
  await Promise.all([put, del, put2]);
  assert.equal(etcd.store.get("/k")?.value, "w");
});

Deno.test("pipeline: a failed txn fails every txn chained after it, unsent (each reported refused); others go on", async () => {
  const etcd = manualEtcd();
  const unsent: unknown[] = [];
  const p = new TxnPipeline(
    etcd.send,
    new Map(),
    undefined,
    (err) => unsent.push(err),
  );
  const first = p.submit([{ key: "/a", value: "1" }]);
  const chained = p.submit([{ key: "/a", value: "2" }, {
    key: "/b",
    value: "x",
  }]);
  const onB = p.submit([{ key: "/b", value: "y" }]);
  const free = p.submit([{ key: "/c", value: "z" }]);
  await tick();
  assert.equal(etcd.sent.length, 2); // /a and /c
  etcd.sent[0].fail(new Error("fenced"));
  await assert.rejects(first, /fenced/);
  await assert.rejects(chained, /fenced/);
  await assert.rejects(onB, /fenced/);
  etcd.sent[1].answer();
  assert.equal(await free, 1);
  assert.equal(etcd.sent.length, 2, "nothing sent after the failure");
  assert.equal(unsent.length, 2, "the chained and the one on /b, refused");
  assert.match(String(unsent[0]), /fenced/);
  assert.equal(p.inflight, 0);
});

Deno.test("pipeline: a write larger than one txn is sent in parts, one after another, puts first", async () => {
  const etcd = manualEtcd();
  const p = new TxnPipeline(etcd.send, new Map(), 2);
  const writes = [
    { key: "/d", value: null },
    { key: "/a", value: "1" },
    { key: "/b", value: "2" },
    { key: "/c", value: "3" },
  ];
  const all = p.submit(writes);
  await tick();
  assert.equal(etcd.sent.length, 1);
  assert.deepEqual(etcd.sent[0].ops, [
    { put: { key: "/a", value: "1" } },
    { put: { key: "/b", value: "2" } },
  ]);
  etcd.sent[0].answer();
  await tick();
  assert.deepEqual(etcd.sent[1].ops, [
    { put: { key: "/c", value: "3" } },
    { delete: { key: "/d" } },
  ]);
  etcd.sent[1].answer();
  assert.equal(await all, 2);
});

Deno.test("pipeline: slot() waits until fewer txns than the limit are in flight", async () => {
  const etcd = manualEtcd();
  const p = new TxnPipeline(etcd.send, new Map());
  const a = p.submit([{ key: "/a", value: "1" }]);
  const b = p.submit([{ key: "/b", value: "1" }]);
  let free = false;
  const slot = p.slot(2).then(() => free = true);
  await tick();
  assert.equal(free, false);
  etcd.sent[0].answer();
  await a;
  await slot;
  assert.equal(free, true);
  etcd.sent[1].answer();
  await b;
});

Deno.test("pipeline: background txns (the flush) take no slot, yet commits on their keys follow them", async () => {
  const etcd = manualEtcd();
  const p = new TxnPipeline(etcd.send, new Map());
  // A flush of two keys in flight.
  const flush = p.submit([{ key: "/r1", value: "c1" }, {
    key: "/r2",
    value: "c2",
  }], { background: true });
  assert.equal(p.inflight, 0);
  assert.equal(p.background, 1);
  // A commit does not wait for a slot behind it (limit 1)…
  let free = false;
  await p.slot(1).then(() => free = true);
  assert.equal(free, true);
  // …and goes out at once on a key the flush does not write…
  const grant = p.submit([{ key: "/r3", value: "g" }]);
  assert.equal(p.inflight, 1);
  await tick();
  assert.equal(etcd.sent.length, 2);
  // …while one on a key the flush writes waits for it, then compares the
  // revision the flush produced (etcd refuses a wrong order).
  const done = p.submit([{ key: "/r1", value: "done" }]);
  await tick();
  assert.equal(etcd.sent.length, 2);
  etcd.sent[1].answer();
  await grant;
  etcd.sent[0].answer();
  await flush;
  await tick();
  assert.equal(etcd.sent.length, 3);
  assert.deepEqual(etcd.sent[2].ops, [{ put: { key: "/r1", value: "done" } }]);
  assert.equal(etcd.sent[2].compares[0].value, 102); // the flush's
  etcd.sent[2].answer();
  assert.equal(await done, 1);
  assert.equal(p.inflight, 0);
  assert.equal(p.background, 0);
});
