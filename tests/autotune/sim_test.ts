import assert from "node:assert/strict";
import {
  checkSimulation,
  simulateAutotune,
} from "../../scripts/sim_autotune.ts";

Deno.test("simulation cuts under pressure, recovers and stays on the rails for every profile", () => {
  for (const profile of ["safe", "balanced", "throughput"] as const) {
    const rows = simulateAutotune(profile);
    assert.equal(rows.length, 60);
    const verdict = checkSimulation(profile, rows);
    assert.deepEqual(verdict.failures, [], profile);
    assert.ok(verdict.cuts > 0 && verdict.increases > 0);
    assert.deepEqual(simulateAutotune(profile), rows, "deterministic");
  }
});

Deno.test("checkSimulation() reports a run without cut or recovery", () => {
  const rows = simulateAutotune("balanced").map((r) => ({
    ...r,
    decision: "hold" as const,
  }));
  assert.deepEqual(checkSimulation("balanced", rows).failures, [
    "no cut under memory pressure",
    "no recovery increase after the cut",
  ]);
  const off = simulateAutotune("safe");
  off[3] = { ...off[3], knobs: { ...off[3].knobs, want: 3 } };
  assert.match(checkSimulation("safe", off).failures.join(), /rails at tick 3/);
});

Deno.test("sim_autotune.ts prints one line per tick and ends with PASS", async () => {
  const script = new URL("../../scripts/sim_autotune.ts", import.meta.url);
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname, "--profile", "safe"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  assert.equal(lines.filter((l) => l.startsWith("tick=")).length, 60);
  assert.match(lines.at(-1)!, /^sim:autotune PASS cuts=\d+ increases=\d+$/);
});
