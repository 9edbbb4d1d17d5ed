import assert from "node:assert/strict";
import {
  encodeCheckpoint,
  type LeaseCheckpoint,
  parseCheckpoint,
} from "../../lib/lease/checkpoint.ts";
import { LeaseError } from "../../lib/lease/errors.ts";
import { LeaseState } from "../../lib/lease/state.ts";

const base: LeaseCheckpoint = {
  manifestHash: "a".repeat(64),
  epoch: 3,
  seed: 2n ** 63n + 5n,
  totalSamples: 100,
  completed: [{ startId: 10, endId: 20 }, { startId: 0, endId: 10 }, {
    startId: 50,
    endId: 60,
  }],
};

Deno.test("checkpoint round-trips as a URL-safe token with merged ranges", () => {
  const token = encodeCheckpoint(base);
  assert.match(token, /^mx8ckpt1\.[A-Za-z0-9_-]+$/);
  const back = parseCheckpoint(token, {
    manifestHash: base.manifestHash,
    epoch: 3,
    seed: base.seed,
    totalSamples: 100,
  });
  assert.deepEqual(back, {
    ...base,
    completed: [{ startId: 0, endId: 20 }, { startId: 50, endId: 60 }],
  });
});

Deno.test("parseCheckpoint() rejects malformed tokens with invalid_argument", () => {
  const good = encodeCheckpoint(base);
  const body = (obj: unknown) =>
    "mx8ckpt1." +
    new TextEncoder().encode(JSON.stringify(obj)).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
  const valid = JSON.parse(
    new TextDecoder().decode(
      Uint8Array.fromBase64(good.slice(9), { alphabet: "base64url" }),
    ),
  );
  const bad = [
    "",
    "garbage",
    "mx8ckpt1.",
    "mx8ckpt1.!!!",
    good.slice(0, -3),
    body([1, 2]),
    body({ ...valid, manifest_hash: "" }),
    body({ ...valid, epoch: -1 }),
    body({ ...valid, seed: 5 }),
    body({ ...valid, total_samples: "100" }),
    body({ ...valid, completed: [[0, 200]] }),
    body({ ...valid, completed: [[5, 5]] }),
    body({ ...valid, completed: [[0, 10], [5, 15]] }),
  ];
  for (const token of bad) {
    assert.throws(
      () => parseCheckpoint(token),
      (err) =>
        err instanceof LeaseError && err.code === "invalid_argument" &&
        err.message.startsWith("Invalid checkpoint token"),
      token,
    );
  }
});

Deno.test("parseCheckpoint() refuses a token of another job with failed_precondition", () => {
  const token = encodeCheckpoint(base);
  for (
    const options of [
      { manifestHash: "b".repeat(64) },
      { epoch: 4 },
      { seed: 1n },
      { totalSamples: 99 },
    ]
  ) {
    assert.throws(
      () => parseCheckpoint(token, options),
      (err) =>
        err instanceof LeaseError && err.code === "failed_precondition" &&
        err.message.includes("another"),
    );
  }
});

Deno.test("LeaseState resumes from its checkpoint and skips completed samples", () => {
  const options = {
    jobId: "j",
    totalSamples: 30,
    blockSize: 10,
    worldSize: 1,
    leaseTtlMs: 1000,
    seed: 1n,
    epoch: 0,
    manifestHash: "h",
  };
  const first = new LeaseState(options);
  first.register("n", {}, 0);
  const [a, b] = first.requestLease("n", 2, 0).leases;
  first.reportProgress("n", a.leaseId, 10, 10, 0, 1);
  first.reportProgress("n", b.leaseId, 14, 4, 0, 1);
  const token = first.checkpoint();

  const { completed } = parseCheckpoint(token, { manifestHash: "h" });
  assert.deepEqual(completed, [{ startId: 0, endId: 14 }]);
  const second = new LeaseState({ ...options, completed });
  second.register("n", {}, 0);
  const leases = second.requestLease("n", 5, 0).leases;
  assert.deepEqual(leases.map((l) => [l.startId, l.endId]), [[14, 20], [
    20,
    30,
  ]]);
  for (const lease of leases) {
    second.reportProgress("n", lease.leaseId, lease.endId, 0, 0, 1);
  }
  assert.equal(second.jobDrained, true);
  assert.deepEqual(second.completedRanges(), [{ startId: 0, endId: 30 }]);
});

Deno.test("LeaseState refuses completed ranges outside the job", () => {
  assert.throws(
    () =>
      new LeaseState({
        jobId: "j",
        totalSamples: 10,
        worldSize: 1,
        leaseTtlMs: 1,
        seed: 0,
        epoch: 0,
        manifestHash: "h",
        completed: [{ startId: 5, endId: 11 }],
      }),
    RangeError,
  );
});
