/**
 * `deno task bench:mix`: two packed photo-like sources (weights 0.7 / 0.3,
 * 224×224 float32, batch 64) mixed at both granularities under one shared
 * cap, next to one `ImageFolderLoader` over the same total samples, in the
 * same run; plus the time to first batch of a 10-source mix next to one
 * loader's. Each run is its own process; peak RSS is the process tree's
 * (sampled from /proc), against RSS once the loader or mix is open. Rows run
 * round-robin `--reps` times: images/s and first-batch times are medians,
 * peak RSS the worst.
 *
 * Usage: deno task bench:mix [--images 2000] [--reps 3] [--dir /tmp/mx8-bench-mix]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { mib, runMeasured } from "./_proc.ts";

const BATCH = 64;
const HW: [number, number] = [224, 224];
const CAP = 256 * 2 ** 20;
const SELF = fileURLToPath(import.meta.url);

interface ChildReport {
  images: number;
  seconds: number;
  openRssBytes: number;
  firstBatchMs: number;
  /** From after the module imports (loaders made) to the first batch. */
  firstBatchAfterImportMs: number;
  maxDeviation?: number;
  inflightHighWaterBytes: number;
  /** Process CPU seconds (all threads) from open to the end. */
  cpuSeconds?: number;
}

/** This process's CPU seconds so far, all threads (utime + stime). */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ 100)
}

async function child(mode: string, dir: string): Promise<void> {
  const t0 = performance.now();
  const { ImageFolderLoader, mix } = await import("../../mod.ts");
  const { FsManifestStore } = await import("../../lib/manifest_store/fs.ts");
  const manifestStore = new FsManifestStore(`${dir}/store`);
  const tImported = performance.now();
  const opts = {
    batchSizeSamples: BATCH,
    resizeHw: HW,
    maxQueueBatches: 8,
    prefetchBatches: 4,
    decodeBackend: "native" as const,
    manifestStore,
  };
  const log = () => {};
  const sources = (n: number) =>
    Array.from(
      { length: n },
      (_, i) =>
        new ImageFolderLoader(
          `${dir}/packed-${n === 2 ? ["a", "b"][i] : "a"}`,
          opts,
        ),
    );
  type Iter = {
    open(): Promise<void>;
    next(): Promise<
      { sampleIds: BigInt64Array; sourceIds?: BigInt64Array } | null
    >;
    stats(): { inflightHighWaterBytes: number };
    close(): Promise<void>;
  };
  let it: Iter;
  if (mode === "single") {
    it = new ImageFolderLoader(`${dir}/packed-all`, {
      ...opts,
      maxInflightBytes: CAP,
    });
  } else if (mode === "ttfb-single") {
    it = sources(1)[0];
  } else if (mode === "ttfb-mix10") {
    it = mix(sources(10), { seed: 1, maxInflightBytes: CAP, log });
  } else {
    it = mix(sources(2), {
      weights: [0.7, 0.3],
      seed: 1,
      granularity: mode === "mix-sample" ? "sample" : "batch",
      onSourceExhausted: "allow",
      maxInflightBytes: CAP,
      log,
    });
  }
  await it.open();
  const openRss = Deno.memoryUsage().rss;
  const cpu0 = cpuSeconds();
  const first = await it.next();
  const firstBatchMs = performance.now() - t0;
  const firstBatchAfterImportMs = performance.now() - tImported;
  if (mode.startsWith("ttfb")) {
    await it.close();
    return report({
      images: first?.sampleIds.length ?? 0,
      seconds: 0,
      openRssBytes: openRss,
      firstBatchMs,
      firstBatchAfterImportMs,
      inflightHighWaterBytes: it.stats().inflightHighWaterBytes,
    });
  }
  const t1 = performance.now();
  let n = first?.sampleIds.length ?? 0;
  const counts = [0, 0];
  let units = 0, worst = 0;
  const count = (
    b: { sampleIds: BigInt64Array; sourceIds?: BigInt64Array },
  ) => {
    if (!b.sourceIds) return;
    if (mode === "mix-batch") {
      counts[Number(b.sourceIds[0])]++;
      units++;
    } else {
      for (const s of b.sourceIds) counts[Number(s)]++;
      units += b.sourceIds.length;
    }
    worst = Math.max(
      worst,
      Math.abs(counts[0] - 0.7 * units),
      Math.abs(counts[1] - 0.3 * units),
    );
  };
  if (first) count(first);
  for (let b = await it.next(); b; b = await it.next()) {
    n += b.sampleIds.length;
    count(b);
  }
  const seconds = (performance.now() - t1) / 1000 + firstBatchMs / 1000;
  const hw = it.stats().inflightHighWaterBytes;
  await it.close();
  report({
    images: n,
    seconds,
    openRssBytes: openRss,
    firstBatchMs,
    firstBatchAfterImportMs,
    maxDeviation: mode === "single" ? undefined : worst,
    inflightHighWaterBytes: hw,
    cpuSeconds: cpuSeconds() - cpu0,
  });
}

function report(r: ChildReport): void {
  console.log("REPORT " + JSON.stringify(r));
}

async function prepare(dir: string, images: number): Promise<void> {
  const { makeDemoImages } = await import("../../lib/demo/dataset.ts");
  const { pack } = await import("../../lib/pack/pack.ts");
  const a = Math.round(images * 0.7);
  const sets: [string, number, number][] = [
    ["a", a, 7],
    ["b", images - a, 8],
    ["all", images, 9],
  ];
  for (const [name, count, seed] of sets) {
    const marker = `${dir}/.ready-${name}-${count}`;
    if (await Deno.stat(marker).then(() => true, () => false)) continue;
    console.error(`preparing ${count} photo-like JPEGs for "${name}" …`);
    await Deno.remove(`${dir}/raw-${name}`, { recursive: true }).catch(
      () => {},
    );
    await makeDemoImages(`${dir}/raw-${name}`, {
      count,
      classes: Array.from({ length: 10 }, (_, i) => `class_${i}`),
      seed,
    });
    await pack(`${dir}/raw-${name}`, {
      out: `${dir}/packed-${name}`,
      labelMode: "imagefolder",
      overwrite: true,
    });
    await Deno.writeTextFile(marker, "");
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "2000" },
      reps: { type: "string", default: "3" },
      dir: { type: "string", default: "/tmp/mx8-bench-mix" },
      child: { type: "string" },
    },
  });
  const dir = values.dir!;
  if (values.child) return await child(values.child, dir);
  const images = Number(values.images);
  await Deno.mkdir(dir, { recursive: true });
  await prepare(dir, images);
  const modes = [
    ["single", "one ImageFolderLoader (all samples)"],
    ["mix-batch", "mix 0.7/0.3, granularity batch"],
    ["mix-sample", "mix 0.7/0.3, granularity sample"],
    ["ttfb-single", "first batch: one loader"],
    ["ttfb-mix10", "first batch: 10-source mix"],
  ];
  const reps = Number(values.reps);
  if (!Number.isSafeInteger(reps) || reps < 1) {
    throw new RangeError(
      `--reps must be a positive integer, got ${values.reps}`,
    );
  }
  const runs = new Map<string, { r: ChildReport; peak: number }[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const [mode, name] of modes) {
      console.error(`running ${name} (${rep + 1}/${reps}) …`);
      const m = await runMeasured(Deno.execPath(), [
        "run",
        "-A",
        "--quiet",
        "--unsafe-proto",
        SELF,
        "--child",
        mode,
        "--dir",
        dir,
      ]);
      const line = m.stdout.split("\n").find((l) => l.startsWith("REPORT "));
      if (m.code !== 0 || !line) {
        console.error(m.stderr);
        throw new Error(`${name} failed (exit ${m.code})`);
      }
      const list = runs.get(mode) ?? [];
      list.push({
        r: JSON.parse(line.slice(7)) as ChildReport,
        peak: m.peakRssBytes,
      });
      runs.set(mode, list);
    }
  }
  const rows = new Map<string, { r: ChildReport; peak: number }>();
  for (const [mode, list] of runs) rows.set(mode, summarize(list));
  const single = rows.get("single")!;
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")
    .slice(0, 3).join(" ");
  console.log(
    `\n### bench:mix — ${images} JPEGs 500×375 → 224×224 float32, batch ${BATCH}, shared cap ${
      mib(CAP)
    } MiB, medians of ${reps} round-robin runs (load average ${load})\n`,
  );
  console.log(
    "| run | images/s | vs single | CPU ms / image | max prefix dev | peak RSS − RSS(open) (MiB) | inflight high-water (MiB) |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const mode of ["single", "mix-batch", "mix-sample"]) {
    const { r, peak } = rows.get(mode)!;
    const ips = r.images / r.seconds;
    console.log(
      `| ${mode} | ${ips.toFixed(0)} | ${
        (ips / (single.r.images / single.r.seconds)).toFixed(2)
      }× | ${((r.cpuSeconds ?? 0) * 1000 / r.images).toFixed(2)} | ${
        r.maxDeviation?.toFixed(2) ?? "–"
      } | ${mib(peak - r.openRssBytes)} | ${mib(r.inflightHighWaterBytes)} |`,
    );
  }
  const limit = 1.1 * CAP + 16 * 2 ** 20;
  for (const mode of ["mix-batch", "mix-sample"]) {
    const { r, peak } = rows.get(mode)!;
    const ratio = (r.images / r.seconds) /
      (single.r.images / single.r.seconds);
    console.log(
      `${mode}: throughput ${ratio.toFixed(2)}× single (goal ≥ 0.95×); ` +
        `max prefix deviation ${r.maxDeviation!.toFixed(2)} (goal ≤ 1); ` +
        `peak RSS − RSS(open) ${
          mib(peak - r.openRssBytes)
        } MiB vs 1.1 × cap + 16 MiB = ${mib(limit)} MiB: ${
          peak - r.openRssBytes <= limit ? "within" : "OVER"
        }`,
    );
  }
  const one = rows.get("ttfb-single")!.r, ten = rows.get("ttfb-mix10")!.r;
  const t1 = one.firstBatchMs, t10 = ten.firstBatchMs;
  console.log(
    `time to first batch (process start → first batch): one loader ${
      t1.toFixed(0)
    } ms, 10-source mix ${t10.toFixed(0)} ms: ${
      (t10 / t1).toFixed(2)
    }× (goal ≤ 1.10×); without the module imports (loaders made → first batch): ${
      one.firstBatchAfterImportMs.toFixed(0)
    } ms vs ${ten.firstBatchAfterImportMs.toFixed(0)} ms: ${
      (ten.firstBatchAfterImportMs / one.firstBatchAfterImportMs).toFixed(2)
    }×`,
  );
}

/** Medians of throughput and first batch; the worst peak RSS over RSS(open). */
function summarize(
  list: { r: ChildReport; peak: number }[],
): { r: ChildReport; peak: number } {
  const median = (xs: number[]) => {
    const s = xs.toSorted((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)];
  };
  const ips = median(list.map((x) => x.r.images / (x.r.seconds || 1)));
  const worst = list.reduce((a, x) =>
    x.peak - x.r.openRssBytes > a.peak - a.r.openRssBytes ? x : a
  );
  const r0 = list[0].r;
  return {
    r: {
      ...worst.r,
      images: r0.images,
      seconds: r0.seconds === 0 ? 0 : r0.images / ips,
      firstBatchMs: median(list.map((x) => x.r.firstBatchMs)),
      firstBatchAfterImportMs: median(
        list.map((x) => x.r.firstBatchAfterImportMs),
      ),
      cpuSeconds: median(list.map((x) => x.r.cpuSeconds ?? 0)),
      maxDeviation: list.some((x) => x.r.maxDeviation !== undefined)
        ? Math.max(...list.map((x) => x.r.maxDeviation ?? 0))
        : undefined,
      inflightHighWaterBytes: Math.max(
        ...list.map((x) => x.r.inflightHighWaterBytes),
      ),
    },
    peak: worst.peak,
  };
}

if (import.meta.main) await main();
