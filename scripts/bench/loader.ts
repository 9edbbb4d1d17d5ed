/**
 * `deno task bench:loader`: one epoch of a packed, generated photo-like JPEG
 * dataset (224×224 float32, batch 64) through ImageFolderLoader (native and
 * sharp), next to, in the same run: (a) the native batch decode of the same
 * images with no pipeline around it, and (b) PyTorch DataLoader(num_workers=2)
 * over torchvision ImageFolder + Resize((224,224)) + ToTensor on the same
 * images unpacked. Each runs in its own process; peak RSS is the process
 * tree's (sampled from /proc).
 *
 * Then the memory-contract cap sweep: the native loader at maxInflightBytes
 * 64 MiB, 128 MiB, 256 MiB and 1 GiB, two epochs each, RSS sampled every
 * 5 ms: peak RSS − RSS with the loader open against the bound
 * 1.1 × maxInflightBytes + 16 MiB, and throughput against the 256 MiB run.
 * Needs the native library (checked first; the task builds `ffi/` when it
 * can); PyTorch is optional.
 *
 * Usage: deno task bench:loader [--images 5000] [--dir /tmp/mx8-bench-loader]
 *   [--sweep-only]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { mib, runMeasured, selfCpuSeconds } from "./_proc.ts";
import { nativeLibrary, requirePrerequisites } from "./_prereq.ts";

const BATCH = 64;
const HW: [number, number] = [224, 224];
const INFLIGHT = 256 * 2 ** 20;
const SELF = fileURLToPath(import.meta.url);
const SWEEP_CAPS_MIB = [64, 128, 256, 1024];
const SWEEP_EPOCHS = 2;

interface ChildReport {
  images: number;
  seconds: number;
  baseRssBytes: number;
  backend?: string;
  inflightHighWaterBytes?: number;
  /** CPU seconds of the whole process tree over the timed window. */
  cpuSeconds?: number;
}

async function child(mode: string, dir: string): Promise<void> {
  if (mode === "native-decode") {
    const { createDecoder } = await import("../../lib/decode/select.ts");
    const { listLocalFiles } = await import("../../lib/snapshot/list_local.ts");
    const files = await listLocalFiles(`${dir}/raw`);
    const bytes = await Promise.all(
      files.map((f) => Deno.readFile(`${dir}/raw/${f.rel}`)),
    );
    const decoder = createDecoder({
      backend: "native",
      poolCapacityBytes: INFLIGHT,
    });
    const baseLoaded = Deno.memoryUsage().rss;
    const t0 = performance.now();
    for (let i = 0; i < bytes.length; i += BATCH) {
      const d = await decoder.decodeBatch(bytes.slice(i, i + BATCH), {
        height: HW[0],
        width: HW[1],
      });
      if (d.errors.some((e) => e !== null)) throw new Error("decode failed");
      d.release();
    }
    const seconds = (performance.now() - t0) / 1000;
    decoder.close();
    report({
      images: bytes.length,
      seconds,
      baseRssBytes: baseLoaded,
      backend: "native",
    });
    return;
  }
  const { ImageFolderLoader } = await import("../../mod.ts");
  const { FsManifestStore } = await import("../../lib/manifest_store/fs.ts");
  if (mode.startsWith("sweep-")) {
    const cap = Number(mode.slice(6)) * 2 ** 20;
    let base = 0, t0 = 0, n = 0, high = 0;
    for (let epoch = 0; epoch < SWEEP_EPOCHS; epoch++) {
      const loader = new ImageFolderLoader(`${dir}/packed`, {
        batchSizeSamples: BATCH,
        resizeHw: HW,
        maxInflightBytes: cap,
        maxQueueBatches: 8,
        prefetchBatches: 4,
        decodeBackend: "native",
        epoch,
        manifestStore: new FsManifestStore(`${dir}/store`),
      });
      await loader.open();
      if (epoch === 0) {
        base = Deno.memoryUsage().rss;
        t0 = performance.now();
      }
      for await (const b of loader) n += b.sampleIds.length;
      high = Math.max(high, loader.stats().inflightHighWaterBytes);
    }
    report({
      images: n,
      seconds: (performance.now() - t0) / 1000,
      baseRssBytes: base,
      backend: "native",
      inflightHighWaterBytes: high,
    });
    return;
  }
  const loader = new ImageFolderLoader(`${dir}/packed`, {
    batchSizeSamples: BATCH,
    resizeHw: HW,
    maxInflightBytes: INFLIGHT,
    maxQueueBatches: 8,
    prefetchBatches: 4,
    decodeBackend: mode === "loader-native" ? "native" : "sharp",
    manifestStore: new FsManifestStore(`${dir}/store`),
  });
  await loader.open();
  // Base = the process with the loader open (modules, native library,
  // decoder, manifest) and nothing in flight.
  const baseOpen = Deno.memoryUsage().rss;
  const cpu0 = selfCpuSeconds();
  const t0 = performance.now();
  let n = 0;
  for await (const b of loader) n += b.sampleIds.length;
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = selfCpuSeconds() - cpu0;
  const s = loader.stats();
  report({
    images: n,
    seconds,
    baseRssBytes: baseOpen,
    backend: s.decodeBackend,
    inflightHighWaterBytes: s.inflightHighWaterBytes,
    cpuSeconds,
  });
}

function report(r: ChildReport): void {
  console.log("REPORT " + JSON.stringify(r));
}

/**
 * Python source of \`tree_cpu()\`: CPU seconds (user + system) of this
 * process and of each descendant alive now, as \`{pid: seconds}\` (from /proc).
 */
export const PY_TREE_CPU = `
def tree_cpu():
    import os
    tck, out, stack = os.sysconf("SC_CLK_TCK"), {}, [os.getpid()]
    while stack:
        pid = stack.pop()
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            out[pid] = (int(f[11]) + int(f[12])) / tck
            for t in os.listdir(f"/proc/{pid}/task"):
                stack += [int(k) for k in open(f"/proc/{pid}/task/{t}/children").read().split()]
        except OSError:
            pass
    return out
`;

/**
 * The PyTorch peer: DataLoader(num_workers=2) over torchvision ImageFolder
 * (argv[1]). Reports the tree's CPU (main process + workers) up to the last
 * batch (the workers exit after it).
 */
export const PYTORCH = `
import json, os, sys, time, resource
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
${PY_TREE_CPU}
torch.set_num_threads(1)
root = sys.argv[1]
ds = datasets.ImageFolder(root, transform=transforms.Compose([transforms.Resize((224, 224)), transforms.ToTensor()]))
dl = DataLoader(ds, batch_size=64, num_workers=2, shuffle=False)
total = len(dl)
cpu0 = tree_cpu()
t0 = time.perf_counter()
n = k = 0
for x, y in dl:
    n += x.shape[0]
    k += 1
    if k == total:
        cpu1 = tree_cpu()
seconds = time.perf_counter() - t0
cpu = sum(v - cpu0.get(p, 0) for p, v in cpu1.items())
print("REPORT " + json.dumps({"images": n, "seconds": seconds, "baseRssBytes": 0, "backend": "torchvision/PIL",
    "cpuSeconds": cpu}))
`;

/**
 * Generates `images` photo-like JPEGs (500×375, 10 classes) in `DIR/raw`
 * and packs them into `DIR/packed`, unless already there.
 *
 * @param dir Benchmark directory.
 * @param images Image count.
 */
export async function prepare(dir: string, images: number): Promise<void> {
  const { makeDemoImages } = await import("../../lib/demo/dataset.ts");
  const { pack } = await import("../../lib/pack/pack.ts");
  console.error(
    `preparing ${images} photo-like JPEGs (500×375) in ${dir}/raw …`,
  );
  const marker = `${dir}/.raw-complete-${images}`;
  if (!(await Deno.stat(marker).then(() => true, () => false))) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await makeDemoImages(`${dir}/raw`, {
      count: images,
      classes: Array.from({ length: 10 }, (_, i) => `class_${i}`),
      seed: 7,
    });
    await Deno.writeTextFile(marker, "");
  }
  const done = await Deno.stat(`${dir}/packed/_mx8/manifest.tsv`).then(
    () => true,
    () => false,
  );
  if (!done) {
    console.error(`packing into ${dir}/packed …`);
    await pack(`${dir}/raw`, {
      out: `${dir}/packed`,
      labelMode: "imagefolder",
      overwrite: true,
    });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "5000" },
      dir: { type: "string", default: "/tmp/mx8-bench-loader" },
      child: { type: "string" },
      "sweep-only": { type: "boolean", default: false },
    },
  });
  const dir = values.dir!;
  if (values.child) return await child(values.child, dir);
  // PyTorch is optional: without it (b) is skipped, with a line saying so.
  requirePrerequisites("bench:loader", [nativeLibrary()]);
  const images = Number(values.images);
  await prepare(dir, images);
  const denoArgs = (
    mode: string,
  ) => ["run", "-A", "--quiet", SELF, "--child", mode, "--dir", dir];
  const runs: { name: string; cmd: string; args: string[] }[] = [
    {
      name: "(a) native batch decode, no pipeline",
      cmd: Deno.execPath(),
      args: denoArgs("native-decode"),
    },
    {
      name: "ImageFolderLoader, native",
      cmd: Deno.execPath(),
      args: denoArgs("loader-native"),
    },
    {
      name: "ImageFolderLoader, sharp",
      cmd: Deno.execPath(),
      args: denoArgs("loader-sharp"),
    },
  ];
  if (values["sweep-only"]) runs.length = 0;
  const hasTorch = !values["sweep-only"] &&
    (await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import torch, torchvision"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => ({ success: false }))).success;
  if (hasTorch) {
    runs.push({
      name: "(b) PyTorch DataLoader(num_workers=2)",
      cmd: "/usr/bin/python3",
      args: ["-c", PYTORCH, `${dir}/raw`],
    });
  } else if (!values["sweep-only"]) {
    console.error(
      "PyTorch not found (apt-get install -y python3-torch python3-torchvision): skipping (b)",
    );
  }
  const rows: {
    name: string;
    ips: number;
    peak: number;
    base: number;
    report: ChildReport;
  }[] = [];
  for (const r of runs) {
    console.error(`running ${r.name} …`);
    const m = await runMeasured(r.cmd, r.args);
    const line = m.stdout.split("\n").find((l) => l.startsWith("REPORT "));
    if (m.code !== 0 || !line) {
      console.error(m.stderr);
      throw new Error(`${r.name} failed (exit ${m.code})`);
    }
    const rep = JSON.parse(line.slice(7)) as ChildReport;
    rows.push({
      name: r.name,
      ips: rep.images / rep.seconds,
      peak: m.peakRssBytes,
      base: rep.baseRssBytes,
      report: rep,
    });
  }
  if (rows.length > 0) printMain(rows, images);
  await capSweep(denoArgs, images);
}

/** Runs and prints the memory-contract cap sweep. */
async function capSweep(
  denoArgs: (mode: string) => string[],
  images: number,
): Promise<void> {
  const sweep: { cap: number; grew: number; ips: number; high: number }[] = [];
  for (const capMiB of SWEEP_CAPS_MIB) {
    console.error(`cap sweep: maxInflightBytes ${capMiB} MiB …`);
    const m = await runMeasured(
      Deno.execPath(),
      denoArgs(`sweep-${capMiB}`),
      {},
      5,
    );
    const line = m.stdout.split("\n").find((l) => l.startsWith("REPORT "));
    if (m.code !== 0 || !line) {
      console.error(m.stderr);
      throw new Error(`cap sweep ${capMiB} MiB failed (exit ${m.code})`);
    }
    const rep = JSON.parse(line.slice(7)) as ChildReport;
    sweep.push({
      cap: capMiB * 2 ** 20,
      grew: m.peakRssBytes - rep.baseRssBytes,
      ips: rep.images / rep.seconds,
      high: rep.inflightHighWaterBytes ?? 0,
    });
  }
  const ref = sweep.find((r) => r.cap === 256 * 2 ** 20)!;
  console.log(
    `\n### bench:loader cap sweep — ${images} JPEGs, native, ${SWEEP_EPOCHS} epochs per cap, RSS sampled every 5 ms\n`,
  );
  console.log(
    "| maxInflightBytes (MiB) | inflight high-water (MiB) | peak − open RSS (MiB) | bound 1.1×cap+16 (MiB) | within | images/s | vs 256 MiB |",
  );
  console.log("|---:|---:|---:|---:|:---:|---:|---:|");
  for (const r of sweep) {
    const bound = 1.1 * r.cap + 16 * 2 ** 20;
    console.log(
      `| ${mib(r.cap)} | ${mib(r.high)} | ${mib(r.grew)} | ${mib(bound)} | ${
        r.grew <= bound ? "yes" : "NO"
      } | ${r.ips.toFixed(0)} | ${(r.ips / ref.ips).toFixed(2)}× |`,
    );
  }
  const at64 = sweep.find((r) => r.cap === 64 * 2 ** 20)!;
  console.log(
    `\nthroughput at 64 MiB / 256 MiB: ${
      (at64.ips / ref.ips).toFixed(2)
    }× (goal ≥ 0.90×); load average: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(", ")
    }`,
  );
}

/** Prints the main comparison table. */
function printMain(
  rows: {
    name: string;
    ips: number;
    peak: number;
    base: number;
    report: ChildReport;
  }[],
  images: number,
): void {
  const by = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
  const a = by("(a)")!;
  const native = by("ImageFolderLoader, native")!;
  const torch = by("(b)");
  console.log(
    `\n### bench:loader — ${images} JPEGs 500×375 → 224×224 float32, batch ${BATCH}, maxInflightBytes ${
      mib(INFLIGHT)
    } MiB\n`,
  );
  console.log("| run | images/s | peak RSS (MiB) | vs (a) | vs (b) |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const vsA = (r.ips / a.ips).toFixed(2) + "×";
    const vsB = torch ? (r.ips / torch.ips).toFixed(2) + "×" : "n/a";
    console.log(
      `| ${r.name} | ${r.ips.toFixed(0)} | ${mib(r.peak)} | ${vsA} | ${vsB} |`,
    );
  }
  const budget = native.base + INFLIGHT;
  console.log(
    `\nloader (native) / (a): ${
      (native.ips / a.ips).toFixed(2)
    }× (goal ≥ 0.90×)` +
      (torch
        ? `; loader (native) / (b): ${
          (native.ips / torch.ips).toFixed(2)
        }× (goal ≥ 3×)`
        : ""),
  );
  console.log(
    `loader (native) peak RSS ${mib(native.peak)} MiB vs base ${
      mib(native.base)
    } + maxInflightBytes ${mib(INFLIGHT)} + 10% = ${mib(budget * 1.1)} MiB: ${
      native.peak <= budget * 1.1 ? "within" : "OVER"
    }` +
      (torch
        ? `; PyTorch tree peak ${mib(torch.peak)} MiB: ${
          native.peak < torch.peak ? "loader lower" : "loader HIGHER"
        }`
        : ""),
  );
  console.log(
    `inflight high-water (native loader): ${
      mib(native.report.inflightHighWaterBytes ?? 0)
    } MiB`,
  );
}

if (import.meta.main) await main();
