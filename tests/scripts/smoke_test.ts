import assert from "node:assert/strict";
import { lastLine, runScript, show } from "./_run.ts";

// The test-suite step is skipped (it would run this test again); format,
// lint, type check and the demo with a kill run for real (≈ 20 s).
Deno.test("smoke.sh (MX8_SMOKE_SKIP_TESTS=1): static checks and the demo with a kill pass", async () => {
  const r = await runScript("smoke.sh", {
    MX8_SMOKE_SKIP_TESTS: "1",
    MX8_SMOKE_DEMO_IMAGES: "200",
  });
  assert.equal(r.code, 0, show(r));
  for (const step of ["fmt", "lint", "typecheck", "demo"]) {
    assert.match(
      r.stdout,
      new RegExp(`^step ${step} \\.\\.\\. PASS \\([\\d.]+ s\\)$`, "m"),
    );
  }
  assert.doesNotMatch(r.stdout, /^step tests /m);
  assert.match(
    r.stdout,
    /^ {2}mx8 demo OK samples=200 requeued=[1-9]\d* leases_expired=[1-9]\d* drained=true /m,
  );
  assert.equal(lastLine(r.stdout), "smoke PASS (4 steps)");
  assert.deepEqual(r.leftovers.filter((n) => n.startsWith("mx8-smoke")), []);
});

Deno.test("smoke.sh: a failing step fails the smoke gate and shows its log", async () => {
  // MX8_BIN pointing at a missing binary makes the demo step fail fast.
  const r = await runScript("smoke.sh", {
    MX8_SMOKE_SKIP_TESTS: "1",
    MX8_SMOKE_SKIP_STATIC: "1",
    MX8_BIN: "/nonexistent/mx8",
  });
  assert.equal(r.code, 1, show(r));
  assert.match(r.stdout, /^step demo \.\.\. FAIL \([\d.]+ s, exit 1\)$/m);
  assert.match(r.stdout, /mx8 demo exited non-zero/);
  assert.equal(lastLine(r.stdout), "smoke FAIL (failed: demo)");
});
