import assert from "node:assert/strict";
import {
  parseCgroupMax,
  parseMemTotal,
  readMachineMemory,
} from "../../lib/autotune/machine_memory.ts";

Deno.test("parseMemTotal() reads MemTotal in kB", () => {
  const text = "MemTotal:       16311372 kB\nMemFree:         1 kB\n";
  assert.equal(parseMemTotal(text), 16311372 * 1024);
  assert.equal(parseMemTotal("MemFree: 1 kB\n"), undefined);
});

Deno.test("parseCgroupMax() handles limits, max and garbage", () => {
  assert.equal(parseCgroupMax("536870912\n"), 536870912);
  assert.equal(parseCgroupMax("max\n"), undefined);
  assert.equal(parseCgroupMax(""), undefined);
  assert.equal(parseCgroupMax("0"), undefined);
  assert.equal(parseCgroupMax("99999999999999999999"), undefined);
});

Deno.test("readMachineMemory() reports a positive total and a smaller cgroup limit", async () => {
  const { memTotalBytes, cgroupMaxBytes } = await readMachineMemory();
  assert.ok(memTotalBytes > 0);
  if (cgroupMaxBytes !== undefined) {
    assert.ok(cgroupMaxBytes > 0 && cgroupMaxBytes < memTotalBytes);
  }
});
