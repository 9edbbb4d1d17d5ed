import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { startFaultyProxy } from "../_helpers/faulty_proxy.ts";
import { startS3 } from "../_helpers/s3rver.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { storeDir } from "./_fixture.ts";

type Knobs = { prefetchBatches: number; maxQueueBatches: number; want: number };
type Event = {
  event: string;
  decision?: string;
  before?: Knobs;
  after?: Knobs;
};

Deno.test("autotune: a fast consumer on a slow source raises prefetch; a slow consumer holds it", async () => {
  await using s3 = await startS3(["tune"]);
  for (let i = 0; i < 400; i++) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "tune",
        Key: `d/${String(i).padStart(4, "0")}.bin`,
        Body: new Uint8Array(2048).fill(i % 251),
      }),
    );
  }
  const manifestStore = new FsManifestStore(await storeDir());
  // Index directly, then read through a proxy adding 15 ms per request.
  await new DataLoader("s3://tune/d", { manifestStore }).open();
  const proxy = await startFaultyProxy(s3.endpoint, {
    fail: () => null,
    delayMs: 15,
  });
  Deno.env.set("MX8_S3_ENDPOINT", proxy.endpoint);
  const events: Event[] = [];
  try {
    const loader = new DataLoader("s3://tune/d", {
      manifestStore,
      batchSizeSamples: 4,
      autotune: { profile: "balanced", tickMs: 150 },
      fetchConcurrency: 4,
      log: (event, fields) => events.push({ event, ...fields }),
    });
    const prefetchOverTime: number[] = [];
    let n = 0;
    for await (const _ of loader) {
      n++;
      prefetchOverTime.push(loader.stats().effectivePrefetchBatches);
      if (n === 50) {
        // From here on the consumer is slow: the pipeline is ahead, no wait.
        const before = loader.stats().effectivePrefetchBatches;
        for (let k = 0; k < 6; k++) {
          await loader.next();
          await new Promise((r) => setTimeout(r, 120));
        }
        const after = loader.stats().effectivePrefetchBatches;
        assert.ok(
          after <= before,
          `prefetch kept rising under a slow consumer: ${before} → ${after}`,
        );
        const lastDecisions = events.slice(-3).map((e) => e.decision);
        assert.ok(!lastDecisions.includes("increase") || after === before);
        break;
      }
    }
    await loader.close();
    const s = loader.stats();
    assert.equal(s.autotuneEnabled, true);
    assert.equal(s.autotuneProfile, "balanced");
    const increases = events.filter((e) =>
      e.event === "autotune_adjustment" && e.decision === "increase"
    );
    assert.ok(increases.length >= 1, `no increase: ${JSON.stringify(events)}`);
    assert.ok(
      Math.max(...prefetchOverTime) > 2,
      `prefetch never rose above the start: ${prefetchOverTime}`,
    );
    for (const e of increases) {
      const [b, a] = [e.before!, e.after!];
      assert.ok(
        a.prefetchBatches >= b.prefetchBatches &&
          a.maxQueueBatches >= b.maxQueueBatches,
      );
      assert.ok(
        a.prefetchBatches + a.maxQueueBatches + a.want >
          b.prefetchBatches + b.maxQueueBatches + b.want,
      );
    }
    assert.ok(Math.max(...prefetchOverTime) <= 8, "stays on the balanced rail");
  } finally {
    Deno.env.set("MX8_S3_ENDPOINT", s3.endpoint);
    await proxy.close();
  }
});

Deno.test("autotune: an RSS ramp in the consumer is cut before the hard cap trips", async () => {
  await using ds = await tempDir();
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 200; i++) {
    files[`f/${String(i).padStart(4, "0")}.bin`] = new Uint8Array(1024);
  }
  await writeTree(ds.path, files);
  const base = Deno.memoryUsage().rss;
  const cap = base + 256 * 2 ** 20;
  const events: Event[] = [];
  const loader = new DataLoader(ds.path, {
    manifestStore: new FsManifestStore(await storeDir()),
    batchSizeSamples: 1,
    maxProcessRssBytes: cap,
    autotune: { profile: "balanced", tickMs: 50 },
    log: (event, fields) => events.push({ event, ...fields }),
  });
  const hog: Uint8Array[] = [];
  try {
    for await (const _ of loader) {
      // Ramp RSS towards 98 % of the cap, then hold there.
      if (Deno.memoryUsage().rss < cap * 0.98 - 8 * 2 ** 20) {
        hog.push(new Uint8Array(8 * 2 ** 20).fill(1));
      }
      await new Promise((r) => setTimeout(r, 10));
      if (
        events.some((e) =>
          e.decision === "hard_cut" || e.decision === "soft_cut"
        )
      ) break;
    }
  } finally {
    await loader.close();
  }
  const cuts = events.filter((e) =>
    e.decision === "hard_cut" || e.decision === "soft_cut"
  );
  assert.ok(
    cuts.length >= 1,
    `no cut under RSS pressure: ${JSON.stringify(events.slice(-5))}`,
  );
  assert.ok(loader.stats().autotuneLastDecision !== "");
  assert.ok(hog.length > 0);
});
