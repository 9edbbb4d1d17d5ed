import assert from "node:assert/strict";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { decodeTxnResponse, encodeTxnRequest } from "../../lib/etcd/_proto.ts";

/** Field numbers and raw values of a message, in order (one level). */
function fieldsOf(bytes: Uint8Array): [number, number | Uint8Array][] {
  const r = new BinaryReader(bytes);
  const out: [number, number | Uint8Array][] = [];
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    out.push([field, wire === 2 ? r.bytes() : Number(r.int64())]);
  }
  return out;
}

Deno.test("etcd proto: a compare with revision 0 still names its field (the oneof), puts carry key, value and lease", () => {
  const bytes = encodeTxnRequest(
    [{ key: "/k", target: "mod", op: "=", value: 0 }],
    [{ put: { key: "/k", value: "v", lease: "7" } }],
    [{ range: { key: "/p/", prefix: true, limit: 1 } }],
  );
  const [compare, success, failure] = fieldsOf(bytes);
  assert.equal(compare[0], 1);
  assert.deepEqual(fieldsOf(compare[1] as Uint8Array), [
    [1, 0], // EQUAL
    [2, 2], // MOD
    [3, new TextEncoder().encode("/k")],
    [6, 0], // mod_revision 0: "the key does not exist"
  ]);
  assert.equal(success[0], 2);
  const [put] = fieldsOf(success[1] as Uint8Array);
  assert.equal(put[0], 2); // request_put
  assert.deepEqual(fieldsOf(put[1] as Uint8Array), [
    [1, new TextEncoder().encode("/k")],
    [2, new TextEncoder().encode("v")],
    [3, 7],
  ]);
  assert.equal(failure[0], 3);
  const [range] = fieldsOf(failure[1] as Uint8Array);
  assert.equal(range[0], 1); // request_range
  assert.deepEqual(fieldsOf(range[1] as Uint8Array), [
    [1, new TextEncoder().encode("/p/")],
    [2, new TextEncoder().encode("/p0")], // prefix end
    [3, 1],
  ]);
});

Deno.test("etcd proto: a TxnResponse decodes its branch, revision and every answer kind", () => {
  const enc = new TextEncoder();
  const header = (rev: number) =>
    new BinaryWriter().uint32(8).uint64(1).uint32(24).int64(rev).finish();
  const kv = new BinaryWriter()
    .uint32(10).bytes(enc.encode("/k")).uint32(16).int64(5)
    .uint32(24).int64(9).uint32(32).int64(2)
    .uint32(42).bytes(enc.encode("ünï")).uint32(48).int64("8261187475580395275")
    .finish();
  const rangeResp = new BinaryWriter().uint32(10).bytes(header(9))
    .uint32(18).bytes(kv).uint32(32).int64(1).finish();
  const putResp = new BinaryWriter().uint32(10).bytes(header(9)).finish();
  const delResp = new BinaryWriter().uint32(10).bytes(header(9))
    .uint32(16).int64(3).finish();
  const msg = new BinaryWriter()
    .uint32(10).bytes(header(9))
    .uint32(16).bool(true)
    .uint32(26).bytes(new BinaryWriter().uint32(10).bytes(rangeResp).finish())
    .uint32(26).bytes(new BinaryWriter().uint32(18).bytes(putResp).finish())
    .uint32(26).bytes(new BinaryWriter().uint32(26).bytes(delResp).finish())
    .finish();
  assert.deepEqual(decodeTxnResponse(msg), {
    succeeded: true,
    revision: 9,
    results: [
      {
        range: {
          revision: 9,
          kvs: [{
            key: "/k",
            value: "ünï",
            createRevision: 5,
            modRevision: 9,
            version: 2,
            lease: "8261187475580395275",
          }],
          count: 1,
          more: false,
        },
      },
      { put: { revision: 9 } },
      { delete: { deleted: 3 } },
    ],
  });
  // A failed txn (no `succeeded` field) with an empty range answer.
  const failed = new BinaryWriter().uint32(10).bytes(header(4))
    .uint32(26).bytes(
      new BinaryWriter().uint32(10).bytes(new Uint8Array()).finish(),
    )
    .finish();
  assert.deepEqual(decodeTxnResponse(failed), {
    succeeded: false,
    revision: 4,
    results: [{ range: { revision: 0, kvs: [], count: 0, more: false } }],
  });
});
