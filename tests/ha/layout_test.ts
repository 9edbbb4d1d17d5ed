import assert from "node:assert/strict";
import { HaStateError } from "../../lib/errors.ts";
import {
  decodeMember,
  decodeMeta,
  decodeRange,
  decodeSummary,
  encodeMember,
  encodeMeta,
  encodeRange,
  encodeSummary,
  jobKeys,
  LAYOUT_VERSION,
  parseKey,
} from "../../lib/ha/layout.ts";
import { job } from "./_helpers.ts";

Deno.test("layout: keys sort by id and parse back", () => {
  const k = jobKeys("j1");
  assert.equal(k.meta, "/mx8/jobs/j1/meta");
  assert.ok(k.range(9) < k.range(10));
  assert.deepEqual(parseKey(k.prefix, k.range(1234)), {
    kind: "range",
    endId: 1234,
  });
  assert.deepEqual(parseKey(k.prefix, k.summary(3)), {
    kind: "summary",
    chunk: 3,
  });
  assert.deepEqual(parseKey(k.prefix, k.member("a/b c")), {
    kind: "member",
    nodeId: "a/b c",
  });
  assert.deepEqual(parseKey(k.prefix, `${k.leader}123`), { kind: "leader" });
  assert.deepEqual(parseKey(k.prefix, k.meta), { kind: "meta" });
  assert.deepEqual(parseKey(k.prefix, "/mx8/jobs/j2/meta"), {
    kind: "unknown",
  });
  assert.throws(() => jobKeys("a/b"), /without "\/"/);
  assert.throws(() => jobKeys(""), RangeError);
});

Deno.test("layout: records round-trip", () => {
  const { meta } = job({ completed: [{ startId: 0, endId: 5 }] });
  assert.deepEqual(decodeMeta("m", encodeMeta(meta)), meta);
  const member = {
    rank: 2,
    departed: true,
    caps: { $typeName: "mx8.v1.NodeCaps", maxRamBytes: 2n ** 62n, cpus: 4 },
  };
  assert.deepEqual(decodeMember("k", encodeMember(member)), member);
  const withDone = { ...member, done: [{ leaseId: "lease-x-1", endId: 40 }] };
  assert.deepEqual(decodeMember("k", encodeMember(withDone)), withDone);
  const range = {
    state: "leased" as const,
    owner: "n",
    lease: "L",
    start: 3,
    cursor: 5,
    epoch: 2,
  };
  assert.deepEqual(decodeRange("k", encodeRange(range), 7), range);
  const done = [{ startId: 0, endId: 3 }, { startId: 5, endId: 9 }];
  assert.deepEqual(decodeSummary("k", encodeSummary(done)), done);
});

Deno.test("layout: malformed records are HaStateErrors naming the key and field", () => {
  const { meta } = job();
  const bad = (fn: () => unknown, re: RegExp) =>
    assert.throws(
      fn,
      (e: unknown) =>
        e instanceof HaStateError && e.key === "K" && re.test(e.message),
    );
  bad(() => decodeMeta("K", "{nope"), /not JSON/);
  bad(() => decodeMeta("K", "[1]"), /not a JSON object/);
  bad(
    () => decodeMeta("K", encodeMeta({ ...meta, v: LAYOUT_VERSION + 1 })),
    new RegExp(`layout version ${LAYOUT_VERSION + 1} is not 1..`),
  );
  // A version-1 job (before `done` ranges) still loads.
  assert.equal(decodeMeta("K", encodeMeta({ ...meta, v: 1 })).v, 1);
  bad(() => decodeMeta("K", JSON.stringify({ ...meta, seed: "x1" })), /"seed"/);
  bad(
    () =>
      decodeMeta(
        "K",
        JSON.stringify({ ...JSON.parse(encodeMeta(meta)), totalSamples: -1 }),
      ),
    /"totalSamples"/,
  );
  bad(() => decodeMember("K", '{"rank":-2,"departed":false}'), /"rank"/);
  bad(
    () => decodeMember("K", '{"rank":0,"departed":false,"done":[["x",0]]}'),
    /"done" must be an array of \[leaseId, endId\] pairs/,
  );
  bad(
    () =>
      decodeRange(
        "K",
        encodeRange({
          state: "leased",
          owner: "",
          lease: "L",
          start: 0,
          cursor: 0,
          epoch: 0,
        }),
        5,
      ),
    /owner/,
  );
  bad(
    () =>
      decodeRange(
        "K",
        encodeRange({
          state: "pooled",
          owner: "",
          lease: "",
          start: 0,
          cursor: 9,
          epoch: 0,
        }),
        5,
      ),
    /cursor 9/,
  );
  bad(() => decodeRange("K", '{"state":"gone"}', 5), /"state"/);
  bad(
    () =>
      decodeRange(
        "K",
        encodeRange({
          state: "done",
          owner: "n",
          lease: "L",
          start: 0,
          cursor: 3,
          epoch: 0,
        }),
        5,
      ),
    /done range has its cursor at its end 5, got 3/,
  );
  bad(
    () => decodeSummary("K", '{"done":[[5,9],[0,3]]}'),
    /unsorted pair \[0,3\]/,
  );
  bad(() => decodeSummary("K", '{"done":[[5,5]]}'), /bad or unsorted/);
});
