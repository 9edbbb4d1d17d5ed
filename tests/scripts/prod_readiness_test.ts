import assert from "node:assert/strict";
import { lastLine, runScript, show } from "./_run.ts";

const GATES = [
  "requeue_drain",
  "coordinator_restart",
  "rss_failfast",
  "autotune_sim",
  "tui_headless",
  "s3_path",
  "pack_roundtrip",
];

Deno.test("prod_readiness.sh: every gate passes and cleans up", async () => {
  const r = await runScript("prod_readiness.sh", { MX8_PR_SAMPLES: "600" });
  assert.equal(r.code, 0, show(r));
  for (const gate of GATES) {
    assert.match(
      r.stdout,
      new RegExp(`^gate ${gate} \\.\\.\\. PASS \\([\\d.]+ s\\)$`, "m"),
    );
  }
  assert.equal(
    lastLine(r.stdout),
    `prod_readiness PASS (${GATES.length} gates)`,
  );
  assert.deepEqual(r.leftovers, [], "temp dirs (and s3rver's) removed");
});

Deno.test("prod_readiness.sh: MX8_PR_ONLY selects gates; an unknown gate is refused", async () => {
  const one = await runScript("prod_readiness.sh", {
    MX8_PR_ONLY: "autotune_sim",
    MX8_PR_VERBOSE: "1",
  });
  assert.equal(one.code, 0, show(one));
  assert.match(one.stdout, /^ {4}sim:autotune PASS cuts=\d+ increases=\d+$/m);
  assert.equal(lastLine(one.stdout), "prod_readiness PASS (1 gates)");
  const bad = await runScript("prod_readiness.sh", { MX8_PR_ONLY: "nope" });
  assert.equal(bad.code, 2);
  assert.match(
    lastLine(bad.stdout),
    /^prod_readiness FAIL: unknown gate 'nope'/,
  );
});

Deno.test("prod_readiness.sh: a failing gate is named, with its log, and fails the run", async () => {
  // A gate timeout of 0 s kills the gate at once.
  const r = await runScript("prod_readiness.sh", {
    MX8_PR_ONLY: "pack_roundtrip",
    MX8_PR_GATE_TIMEOUT_S: "0.01",
  });
  assert.equal(r.code, 1, show(r));
  assert.match(
    r.stdout,
    /^gate pack_roundtrip \.\.\. FAIL \([\d.]+ s, exit 124\)$/m,
  );
  assert.match(r.stdout, /timed out after 0\.01 s/);
  assert.equal(
    lastLine(r.stdout),
    "prod_readiness FAIL (1 of 1 gates: pack_roundtrip)",
  );
  assert.deepEqual(r.leftovers, []);
});
