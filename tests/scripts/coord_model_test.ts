import assert from "node:assert/strict";
import { model, type ModelOptions } from "../../scripts/bench/_coord_model.ts";

const base: ModelOptions = {
  nodes: 512,
  costMs: 0.14,
  turnMs: 0.02,
  heartbeatMs: 200,
  progressMs: 200,
  fromSend: true,
  pauseMs: 10,
  pauseEveryMs: 1000,
  seed: 1,
};

Deno.test("coordinator model: progress paced from the answer bunches the nodes and doubles the tail; paced from the send it does not", () => {
  for (const seed of [1, 2]) {
    const send = model({ ...base, seed });
    const answer = model({ ...base, seed, fromSend: false });
    // Every node still makes its calls (≈ 512 × (5 + 5.3) per second).
    assert.ok(send.rps > 5000 && send.rps < 5500, `rps ${send.rps}`);
    // Independent phases: the busiest 10 ms bins stay near the mean.
    assert.ok(send.bunch[0] < 1.45, `send bunching ${send.bunch}`);
    assert.ok(answer.bunch[0] > 1.7, `answer bunching ${answer.bunch}`);
    assert.ok(answer.p99 > 1.4 * send.p99, `p99 ${answer.p99} vs ${send.p99}`);
    assert.ok(answer.p50 > 4 * send.p50, `p50 ${answer.p50} vs ${send.p50}`);
  }
});

Deno.test("coordinator model: the tail grows with CPU per RPC", () => {
  const at = (costMs: number) => model({ ...base, costMs }).p99;
  assert.ok(at(0.10) < at(0.14));
  assert.ok(at(0.14) < at(0.18));
});
