/**
 * `deno task bench:autotune`: does autotune beat the default fixed knobs, and
 * come near the best fixed knobs, on a slow source?
 *
 * Source: s3rver on loopback behind a latency proxy that delays every
 * forwarded request by a uniform random 20–50 ms (seeded). Dataset
 * (`--layout packed`, the default): `--objects` files of `--size-kb`
 * random bytes packed with `pack()` straight to `s3://bench/d` in
 * `--shard-mb` shards, so a batch costs one coalesced ranged GET per shard
 * it touches: the source is latency-bound, which is what prefetch depth is
 * for. `--layout raw` keeps one object per sample (a HEAD and a GET each);
 * there s3rver + proxy + SDK run out of CPU on 2 cores near 550 requests/s,
 * before prefetch depth matters. Consumer: a fixed `--consumer-ms` sleep per
 * batch (an accelerator step that leaves the CPU free), so it takes at most
 * 1000 / consumer-ms batches/s.
 *
 * Configurations, each in its own child process (peak RSS is per
 * configuration), all with the same dataset, proxy, consumer,
 * `maxInflightBytes`, `maxProcessRssBytes` and `fetchConcurrency` (default 16):
 *
 * - (a) default: DataLoader defaults (prefetchBatches 4, maxQueueBatches 8);
 * - (b) autotune `{ profile: "balanced", tickMs }` starting from the profile's
 *   knobs (prefetch 2, queue 64) and moving them itself;
 * - (c) a sweep of prefetchBatches × maxQueueBatches; the best of it is
 *   "best fixed".
 *
 * Every configuration is measured the same way: wall time from its first
 * `next()` (after `open()`: manifest read and plan) until the epoch ends or
 * `--window-s` seconds pass, whichever is first; samples/s = samples
 * delivered / that time. Autotune's ramp from its start knobs is inside the
 * window. (a) and (b) run `--repeats` times (half before the sweep, half
 * after) and their mean is used for the ratios.
 *
 * The tick is the spec's 2 s by default, so the ramp from prefetch 2 to the
 * balanced rail (8) takes ~12 s of the window, and counts against autotune.
 *
 * Notes: with `--layout raw`, s3rver under Deno cannot page a listing past
 * 1000 keys (DES is missing from node:crypto), so the bench writes the
 * manifest the lister would produce (`_mx8/manifest.tsv`, no byte ranges).
 *
 * Usage: deno task bench:autotune [--objects 240000] [--size-kb 2-6]
 *   [--layout packed|raw] [--shard-mb 64] [--batch 32] [--consumer-ms 6]
 *   [--window-s 60] [--tick-ms 2000] [--inflight-mib 128]
 *   [--rss-cap-mib 1024] [--fetch-concurrency 16] [--repeats 2]
 *   [--prefetch 1,2,4,8,16] [--queue 16,64] [--only default,autotune,p4q8]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { globalAgent } from "node:http";
import { mib, runMeasured } from "./_proc.ts";

const SELF = fileURLToPath(import.meta.url);
const MIB = 2 ** 20;
const BUCKET = "bench";
const PREFIX = "d";
const LATENCY_MS: [number, number] = [20, 50];

type Knobs = { prefetchBatches: number; maxQueueBatches: number; want: number };

/** What a child is told to run. */
interface ChildConfig {
  name: string;
  link: string;
  store: string;
  batch: number;
  inflightBytes: number;
  rssCapBytes: number;
  consumerMs: number;
  windowMs: number;
  fetchConcurrency: number;
  prefetchBatches?: number;
  maxQueueBatches?: number;
  autotune?: { profile: "balanced"; tickMs: number };
}

/** What a child reports back (one `REPORT {json}` line on stdout). */
interface ChildReport {
  samples: number;
  batches: number;
  seconds: number;
  consumerWaitSeconds: number;
  inflightHighWaterBytes: number;
  ramHighWaterBytes: number;
  finalPrefetch: number;
  finalQueue: number;
  adjustments: number;
  decisions: Record<string, number>;
  /** [seconds since start, prefetch, queue] after each adjustment. */
  timeline: [number, number, number][];
}

/** A small seeded PRNG (mulberry32), uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function child(cfg: ChildConfig): Promise<void> {
  const { DataLoader } = await import("../../lib/loader/data_loader.ts");
  const { FsManifestStore } = await import("../../lib/manifest_store/fs.ts");
  const t0Holder = { t0: 0 };
  const decisions: Record<string, number> = {};
  const timeline: [number, number, number][] = [];
  let adjustments = 0;
  const loader = new DataLoader(cfg.link, {
    manifestStore: new FsManifestStore(cfg.store),
    batchSizeSamples: cfg.batch,
    maxInflightBytes: cfg.inflightBytes,
    maxProcessRssBytes: cfg.rssCapBytes,
    prefetchBatches: cfg.prefetchBatches,
    maxQueueBatches: cfg.maxQueueBatches,
    autotune: cfg.autotune ?? false,
    fetchConcurrency: cfg.fetchConcurrency,
    log: (event, fields) => {
      if (event !== "autotune_adjustment") return;
      adjustments++;
      const d = String(fields.decision);
      decisions[d] = (decisions[d] ?? 0) + 1;
      const a = fields.after as Knobs;
      timeline.push([
        Number(((performance.now() - t0Holder.t0) / 1000).toFixed(2)),
        a.prefetchBatches,
        a.maxQueueBatches,
      ]);
    },
  });
  await loader.open();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let samples = 0;
  let batches = 0;
  let checksum = 0;
  t0Holder.t0 = performance.now();
  for await (const b of loader) {
    // Touch the bytes (one per 4 KiB page) so the payload is really there.
    for (let i = 0; i < b.payload.length; i += 4096) checksum += b.payload[i];
    samples += b.sampleIds.length;
    batches++;
    await sleep(cfg.consumerMs);
    if (performance.now() - t0Holder.t0 >= cfg.windowMs) break;
  }
  const seconds = (performance.now() - t0Holder.t0) / 1000;
  const s = loader.stats();
  await loader.close();
  const report: ChildReport = {
    samples,
    batches,
    seconds,
    consumerWaitSeconds: s.consumerWaitSeconds,
    inflightHighWaterBytes: s.inflightHighWaterBytes,
    ramHighWaterBytes: s.ramHighWaterBytes,
    finalPrefetch: s.effectivePrefetchBatches,
    finalQueue: s.effectiveMaxQueueBatches,
    adjustments: s.autotuneAdjustmentsTotal,
    decisions,
    timeline,
  };
  if (adjustments !== report.adjustments) {
    throw new Error(
      `logged ${adjustments} autotune_adjustment events but stats say ${report.adjustments}`,
    );
  }
  if (checksum < 0) console.error("unreachable");
  console.log("REPORT " + JSON.stringify(report));
}

/** Seeded random object sizes. */
function objectSizes(objects: number, size: [number, number]): number[] {
  const rand = prng(7);
  return Array.from(
    { length: objects },
    () => size[0] + Math.floor(rand() * (size[1] - size[0] + 1)),
  );
}

/** Object `i`'s bytes (seeded random). */
function objectBytes(i: number, size: number): Uint8Array {
  const body = new Uint8Array(size);
  const r = prng(1000 + i);
  for (let k = 0; k < body.length; k++) body[k] = (r() * 256) | 0;
  return body;
}

/**
 * Puts the dataset on s3rver and returns its total size. `packed`: the
 * objects are written to a local folder and packed straight to
 * `s3://bench/d` with `pack()` (tar shards + byte-range manifest, so a batch
 * is one coalesced ranged GET per shard it touches). `raw`: one object per
 * sample (each sample costs a HEAD and a GET).
 */
async function upload(
  s3: Awaited<
    ReturnType<typeof import("../../tests/_helpers/s3rver.ts").startS3>
  >,
  objects: number,
  layout: "packed" | "raw",
  size: [number, number],
  shardMb: number,
): Promise<number> {
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  const sizes = objectSizes(objects, size);
  if (layout === "packed") {
    const { pack } = await import("../../lib/pack/pack.ts");
    const dir = await Deno.makeTempDir({ prefix: "mx8-bench-autotune-src-" });
    try {
      for (let i = 0; i < objects; i++) {
        Deno.writeFileSync(`${dir}/${key(i)}`, objectBytes(i, sizes[i]));
      }
      await pack(dir, { out: `s3://${BUCKET}/${PREFIX}`, shardMb });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    return sizes.reduce((a, b) => a + b, 0);
  }
  let next = 0;
  const worker = async () => {
    while (next < objects) {
      const i = next++;
      await s3.client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `${PREFIX}/${key(i)}`,
          Body: objectBytes(i, sizes[i]),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  // s3rver under Deno cannot page a listing (its continuation token uses a
  // DES cipher node:crypto lacks here: HTTP 500 past 1000 keys), so write the
  // manifest the lister would produce (one row per object, no byte range)
  // as `<prefix>/_mx8/manifest.tsv`, which indexing reads instead of listing.
  const tsv = ["schema_version=0"];
  for (let i = 0; i < objects; i++) tsv.push(`${i}\t${key(i)}\t\t\t`);
  await s3.client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `${PREFIX}/_mx8/manifest.tsv`,
      Body: new TextEncoder().encode(tsv.join("\n") + "\n"),
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

function key(i: number): string {
  return `${String(i).padStart(6, "0")}.bin`;
}

function list(s: string): number[] {
  return s.split(",").map((x) => Number(x.trim())).filter((x) => x > 0);
}

interface Row {
  name: string;
  kind: "default" | "autotune" | "sweep";
  cfg: ChildConfig;
  rep: ChildReport;
  sps: number;
  peak: number;
  underCap: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      objects: { type: "string", default: "240000" },
      batch: { type: "string", default: "32" },
      "consumer-ms": { type: "string", default: "6" },
      "window-s": { type: "string", default: "60" },
      "fetch-concurrency": { type: "string", default: "16" },
      repeats: { type: "string", default: "2" },
      "tick-ms": { type: "string", default: "2000" },
      "inflight-mib": { type: "string", default: "128" },
      "rss-cap-mib": { type: "string", default: "1024" },
      prefetch: { type: "string", default: "1,2,4,8,16" },
      queue: { type: "string", default: "16,64" },
      only: { type: "string", default: "" },
      layout: { type: "string", default: "packed" },
      "size-kb": { type: "string", default: "2-6" },
      "shard-mb": { type: "string", default: "64" },
    },
  });
  if (values.child) return await child(JSON.parse(values.child));
  // Prerequisites: none beyond Deno (s3rver and the SDK come from npm), so
  // unlike the other benchmarks there is nothing to check first.

  const objects = Number(values.objects);
  const batch = Number(values.batch);
  const consumerMs = Number(values["consumer-ms"]);
  const windowMs = Number(values["window-s"]) * 1000;
  const fetchConcurrency = Number(values["fetch-concurrency"]);
  const repeats = Math.max(1, Number(values.repeats));
  const tickMs = Number(values["tick-ms"]);
  const inflightBytes = Number(values["inflight-mib"]) * MIB;
  const rssCapBytes = Number(values["rss-cap-mib"]) * MIB;
  const only = values.only ? values.only.split(",") : [];
  const layout = values.layout as "packed" | "raw";
  if (layout !== "packed" && layout !== "raw") {
    throw new RangeError(`--layout must be packed or raw, got ${layout}`);
  }
  const [lo, hi] = values["size-kb"]!.split("-").map((x) => Number(x) * 1024);
  const size: [number, number] = [lo, hi ?? lo];
  const shardMb = Number(values["shard-mb"]);

  const { startS3 } = await import("../../tests/_helpers/s3rver.ts");
  const { startFaultyProxy } = await import(
    "../../tests/_helpers/faulty_proxy.ts"
  );
  const { DataLoader } = await import("../../lib/loader/data_loader.ts");
  const { FsManifestStore } = await import("../../lib/manifest_store/fs.ts");

  const tBench = performance.now();
  await using s3 = await startS3([BUCKET]);
  const store = await Deno.makeTempDir({ prefix: "mx8-bench-autotune-" });
  try {
    console.error(
      `uploading ${objects} objects (${size[0] / 1024}–${
        size[1] / 1024
      } KB random bytes, ${layout}) to s3rver …`,
    );
    const totalBytes = await upload(s3, objects, layout, size, shardMb);
    // Index straight against s3rver (no latency), then pin the hash so every
    // child reads exactly the same manifest and never re-indexes.
    const indexer = new DataLoader(`s3://${BUCKET}/${PREFIX}`, {
      manifestStore: new FsManifestStore(store),
    });
    await indexer.open();
    const link = `s3://${BUCKET}/${PREFIX}@sha256:${indexer.manifestHash}`;
    await indexer.close();

    // Every forwarded request waits a fresh uniform 20–50 ms. The helper reads
    // `delayMs` twice per request (truthiness, then the delay), so each read
    // draws anew; both draws are in range.
    const rand = prng(42);
    const proxy = await startFaultyProxy(s3.endpoint, {
      fail: () => null,
      get delayMs() {
        return LATENCY_MS[0] +
          Math.round(rand() * (LATENCY_MS[1] - LATENCY_MS[0]));
      },
    });
    const childEnv = { ...s3.env, MX8_S3_ENDPOINT: proxy.endpoint };

    const base = {
      link,
      store,
      batch,
      inflightBytes,
      rssCapBytes,
      consumerMs,
      windowMs,
      fetchConcurrency,
    };
    type Plan = { name: string; kind: Row["kind"]; cfg: ChildConfig };
    const pair = (run: number): Plan[] => [
      {
        name: `(a) default (prefetch 4, queue 8) #${run}`,
        kind: "default",
        cfg: { ...base, name: "default" },
      },
      {
        name: `(b) autotune balanced (tick ${tickMs} ms) #${run}`,
        kind: "autotune",
        cfg: {
          ...base,
          name: "autotune",
          autotune: { profile: "balanced", tickMs },
        },
      },
    ];
    // (a)/(b) run `repeats` times, half before the sweep (a, b) and half
    // after it (b, a), so slow drift of the machine hits both alike.
    const plans: Plan[] = [];
    const early = Math.ceil(repeats / 2);
    for (let r = 1; r <= early; r++) plans.push(...pair(r));
    for (const p of list(values.prefetch!)) {
      for (const q of list(values.queue!)) {
        plans.push({
          name: `(c) fixed prefetch ${p}, queue ${q}`,
          kind: "sweep",
          cfg: {
            ...base,
            name: `p${p}q${q}`,
            prefetchBatches: p,
            maxQueueBatches: q,
          },
        });
      }
    }
    for (let r = early + 1; r <= repeats; r++) {
      plans.push(...pair(r).reverse());
    }
    const selected = only.length
      ? plans.filter((p) => only.includes(p.cfg.name))
      : plans;

    const rows: Row[] = [];
    for (const plan of selected) {
      console.error(`running ${plan.name} …`);
      const requestsBefore = proxy.requests;
      const m = await runMeasured(Deno.execPath(), [
        "run",
        "-A",
        "--unsafe-proto",
        "--quiet",
        SELF,
        "--child",
        JSON.stringify(plan.cfg),
      ], childEnv);
      const line = m.stdout.split("\n").find((l) => l.startsWith("REPORT "));
      if (m.code !== 0 || !line) {
        console.error(m.stderr);
        throw new Error(`${plan.name} failed (exit ${m.code})`);
      }
      const rep = JSON.parse(line.slice(7)) as ChildReport;
      if (rep.samples === 0) throw new Error(`${plan.name}: read nothing`);
      const row: Row = {
        name: plan.name,
        kind: plan.kind,
        cfg: plan.cfg,
        rep,
        sps: rep.samples / rep.seconds,
        peak: m.peakRssBytes,
        underCap: m.peakRssBytes <= rssCapBytes,
      };
      rows.push(row);
      console.error(
        `  ${row.sps.toFixed(0)} samples/s, ${rep.seconds.toFixed(2)} s, peak ${
          mib(row.peak)
        } MiB, ${proxy.requests - requestsBefore} proxied requests` +
          (plan.kind === "autotune"
            ? `, ${rep.adjustments} adjustments → prefetch ${rep.finalPrefetch}, queue ${rep.finalQueue}`
            : ""),
      );
    }
    await proxy.close();
    // Children stopped mid-epoch leave the proxy's pooled keep-alive sockets
    // to s3rver open, and s3rver's close would wait on them forever.
    globalAgent.destroy();
    print(rows, {
      objects,
      totalBytes,
      batch,
      consumerMs,
      windowMs,
      fetchConcurrency,
      tickMs,
      inflightBytes,
      rssCapBytes,
      layout,
      size,
      shardMb,
      benchSeconds: (performance.now() - tBench) / 1000,
    });
  } finally {
    await Deno.remove(store, { recursive: true }).catch(() => {});
  }
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function print(
  rows: Row[],
  p: {
    objects: number;
    totalBytes: number;
    batch: number;
    consumerMs: number;
    windowMs: number;
    fetchConcurrency: number;
    tickMs: number;
    inflightBytes: number;
    rssCapBytes: number;
    layout: "packed" | "raw";
    size: [number, number];
    shardMb: number;
    benchSeconds: number;
  },
): void {
  const consumerSps = p.batch * 1000 / p.consumerMs;
  console.log(
    `\n### bench:autotune — ${p.objects} S3 objects (${
      mib(p.totalBytes)
    } MiB, ${p.size[0] / 1024}–${p.size[1] / 1024} KB; ${
      p.layout === "packed"
        ? `packed in ${p.shardMb} MiB shards: one coalesced ranged GET per shard a batch touches`
        : "raw: HEAD + GET each"
    }), +${LATENCY_MS[0]}–${
      LATENCY_MS[1]
    } ms uniform per request, batch ${p.batch}, consumer sleep ${p.consumerMs} ms/batch (≤ ${
      consumerSps.toFixed(0)
    } samples/s), fetchConcurrency ${p.fetchConcurrency}, maxInflightBytes ${
      mib(p.inflightBytes)
    } MiB, RSS cap ${
      mib(p.rssCapBytes)
    } MiB; each config timed from its first next() until the epoch ends or ${
      p.windowMs / 1000
    } s pass, whichever is first\n`,
  );
  console.log(
    "| config | samples/s | samples | timed s | consumer wait % | peak RSS MiB | inflight HW MiB | final prefetch/queue | under cap |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.sps.toFixed(0)} | ${r.rep.samples} | ${
        r.rep.seconds.toFixed(2)
      } | ${(100 * r.rep.consumerWaitSeconds / r.rep.seconds).toFixed(0)} | ${
        mib(r.peak)
      } | ${
        mib(r.rep.inflightHighWaterBytes)
      } | ${r.rep.finalPrefetch}/${r.rep.finalQueue} | ${
        r.underCap ? "yes" : "NO"
      } |`,
    );
  }
  const defs = rows.filter((r) => r.kind === "default");
  const autos = rows.filter((r) => r.kind === "autotune");
  const sweep = rows.filter((r) => r.kind === "sweep" && r.underCap);
  const best = sweep.length
    ? sweep.reduce((a, b) => (b.sps > a.sps ? b : a))
    : undefined;
  const defSps = defs.length ? mean(defs.map((r) => r.sps)) : 0;
  const autoSps = autos.length ? mean(autos.map((r) => r.sps)) : 0;
  console.log("");
  if (defs.length) {
    console.log(
      `default: mean ${
        defSps.toFixed(0)
      } samples/s over ${defs.length} run(s) (${
        defs.map((r) => r.sps.toFixed(0)).join(", ")
      }); peak RSS max ${mib(Math.max(...defs.map((r) => r.peak)))} MiB`,
    );
  }
  if (autos.length) {
    console.log(
      `autotune: mean ${
        autoSps.toFixed(0)
      } samples/s over ${autos.length} run(s) (${
        autos.map((r) => r.sps.toFixed(0)).join(", ")
      }); peak RSS max ${mib(Math.max(...autos.map((r) => r.peak)))} MiB`,
    );
  }
  if (best) {
    console.log(`best fixed: ${best.name} — ${best.sps.toFixed(0)} samples/s`);
  }
  autos.forEach((auto, i) => {
    const d = Object.entries(auto.rep.decisions).map(([k, v]) => `${k} ${v}`)
      .join(", ");
    console.log(
      `autotune run ${
        i + 1
      }: ${auto.rep.adjustments} autotune_adjustment events (${
        d || "none"
      }); final knobs prefetch ${auto.rep.finalPrefetch}, queue ${auto.rep.finalQueue}`,
    );
    const ramp = auto.rep.timeline.filter((e, k, all) =>
      k === 0 || e[1] !== all[k - 1][1]
    );
    console.log(
      `  prefetch ramp (t s → prefetch/queue): start 2/64` +
        ramp.map(([t, pf, q]) => `, ${t} → ${pf}/${q}`).join(""),
    );
  });
  if (autos.length && defs.length) {
    const r = autoSps / defSps;
    console.log(
      `autotune / default: ${r.toFixed(2)}× (goal ≥ 1.30×) ${
        r >= 1.3 ? "PASS" : "MISS"
      }`,
    );
  }
  if (autos.length && best) {
    const r = autoSps / best.sps;
    console.log(
      `autotune / best fixed: ${r.toFixed(2)}× (goal ≥ 0.90×) ${
        r >= 0.9 ? "PASS" : "MISS"
      }`,
    );
  }
  console.log(`bench wall time: ${p.benchSeconds.toFixed(0)} s`);
}

if (import.meta.main) await main();
