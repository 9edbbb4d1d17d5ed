import assert from "node:assert/strict";
import { lastLine, runMx8 } from "../_helpers/mx8.ts";

Deno.test("mx8 demo (reduced size): kill, expiry, requeue, drain, loader stats, OK line", async () => {
  const res = await runMx8(["demo", "--images", "240"]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const out = res.stdout;
  for (const step of ["1/6", "2/6", "3/6", "4/6", "5/6", "6/6"]) {
    assert.match(out, new RegExp(`^\\[${step}\\]`, "m"));
  }
  assert.match(out, /agent-0 was killed \(SIGKILL\) mid-job/);
  assert.match(out, /EXPIRED at cursor \d+/);
  assert.match(out, /REQUEUED to the front of the pool/);
  assert.match(out, /job DRAINED/);
  assert.match(out, /all 240 sample ids delivered/);
  assert.match(out, /^ {2}ramHighWaterBytes +\d+$/m);
  const m =
    /^mx8 demo OK samples=240 requeued=(\d+) leases_expired=(\d+) drained=true decode_backend=(native|sharp) images_per_s=\d+$/
      .exec(lastLine(out));
  assert.ok(m, lastLine(out));
  assert.ok(Number(m[1]) >= 1 && Number(m[2]) >= 1);
});
