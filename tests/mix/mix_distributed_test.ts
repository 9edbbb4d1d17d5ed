import assert from "node:assert/strict";
import { DataLoader, mix } from "../../mod.ts";
import { startCoordinator, writeDataset } from "../coordinator/_process.ts";
import { tempDir } from "../_helpers/tmp.ts";

Deno.test("mix: two distributed sources (two coordinator processes) mixed, every sample of each delivered", async () => {
  await using dataA = await tempDir();
  await using dataB = await tempDir();
  await using store = await tempDir();
  await writeDataset(dataA.path, 48);
  await writeDataset(dataB.path, 20);
  const coordArgs = (job: string, dir: string) => [
    "--job-id",
    job,
    "--dataset",
    dir,
    "--manifest-store",
    store.path,
    "--world-size",
    "1",
    "--block-size",
    "8",
    "--heartbeat-ms",
    "100",
  ];
  await using a = await startCoordinator(coordArgs("mix-a", dataA.path));
  await using b = await startCoordinator(coordArgs("mix-b", dataB.path));
  const leased = (coordUrl: string, jobId: string) =>
    new DataLoader("", {
      coordUrl,
      jobId,
      nodeId: `mixer-${jobId}`,
      batchSizeSamples: 4,
      log: () => {},
    });
  await using m = mix(
    { a: leased(a.url, "mix-a"), b: leased(b.url, "mix-b") },
    {
      weights: { a: 0.7, b: 0.3 },
      seed: 1,
      onSourceExhausted: "allow",
      log: () => {},
    },
  );
  const seen: number[][] = [[], []];
  const units: number[] = [];
  let checked = false;
  for await (const batch of m) {
    if (!checked) {
      checked = true;
      assert.throws(
        () => m.checkpoint(),
        /distributed; it resumes through its coordinator/,
      );
    }
    const s = Number(batch.sourceIds[0]);
    units.push(s);
    seen[s].push(...Array.from(batch.sampleIds, Number));
  }
  assert.deepEqual(
    seen[0].toSorted((x, y) => x - y),
    Array.from({ length: 48 }, (_, i) => i),
  );
  assert.deepEqual(
    seen[1].toSorted((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  // Exact while both had leases: 5 of b's batches within the first 16 units (0.3 × 16 = 4.8).
  assert.ok(
    Math.abs(units.slice(0, 16).filter((s) => s === 1).length - 4.8) <= 1,
  );
  const st = m.stats().mixSources;
  assert.equal(st[0].manifestHash, a.manifestHash);
  assert.equal(st[1].manifestHash, b.manifestHash);
});
