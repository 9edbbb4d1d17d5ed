/**
 * `deno task bench:python`: one epoch of the packed photo-like JPEG set of
 * `bench:loader` (224×224 float32, batch 64), each row its own process tree:
 * (a) mx8 from Python (`mx8.vision.ImageFolderLoader`: Python + the runtime
 * child, batches in shared memory) with torch tensors, and (a') with numpy
 * arrays and no torch import; (b) the Deno `ImageFolderLoader` alone;
 * (c) PyTorch `DataLoader(num_workers=2)` + torchvision `ImageFolder`.
 * Peak memory is the whole tree's, as summed RSS and as summed PSS (a page
 * shared by two processes — the mapping — counts once in PSS, twice in RSS).
 *
 * Rows run round-robin `--repeat` times (default 3); each figure is the
 * median. Each round runs every row twice: once unsampled for its speed and
 * its CPU (each process reports its own and its children's CPU seconds over
 * the timed window, from /proc), once with the memory sampler for its peaks.
 * The sampler is not free: each PSS sample reads `smaps_rollup`, a page-table
 * walk of 10–20 ms CPU per Deno or torch process, so on a 2-core machine it
 * takes CPU from the row it measures, and more from (a) (two processes, one
 * of them with torch mapped) than from (b); the images/s seen while sampled
 * are printed too, to show it. Two baseline rows run in the same rounds: (t) `python3` with
 * `import torch` alone and (p) `python3` with `import numpy` alone. The
 * binding's own cost is (a) − (t) (and (a') − (p)): the Python side of mx8
 * plus its runtime child, without the interpreter and torch every PyTorch
 * user already has; the summary compares it with (b) + 64 MiB, and torch's
 * share of (a), (a) − (a'), with what `import torch` costs, (t) − (p).
 *
 * Usage: deno task bench:python [--images 5000] [--repeat 3] [--dir /tmp/mx8-bench-loader]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { mib, runMeasured } from "./_proc.ts";
import { prepare, PY_TREE_CPU, PYTORCH } from "./loader.ts";

const PYTHON = Deno.env.get("MX8_PYTHON") ?? "/usr/bin/python3";
const PKG = fileURLToPath(new URL("../../ffi/python/", import.meta.url));
const LOADER_TS = fileURLToPath(new URL("./loader.ts", import.meta.url));

// CPU is read after the last batch is taken: the runtime child exits when
// the loop ends.
const MX8_PY = `
import json, os, sys, time
sys.path.insert(0, ${JSON.stringify(PKG)})
import mx8
${PY_TREE_CPU}
packed, store, tensors = sys.argv[1:4]
loader = mx8.vision.ImageFolderLoader(packed, batch_size_samples=64, resize_hw=(224, 224),
    max_inflight_bytes=256 * 2**20, max_queue_batches=8, prefetch_batches=4,
    manifest_store=store, tensors=tensors)
loader.classes  # opens the dataset, as (b) does before its clock starts
total = len(loader)
cpu0 = tree_cpu()
t0 = time.perf_counter()
n = k = 0
for images, labels in loader:
    n += len(labels)
    k += 1
    if k == total:
        cpu1 = tree_cpu()
seconds = time.perf_counter() - t0
me = os.getpid()
runtime = sum(v - cpu0.get(p, 0) for p, v in cpu1.items() if p != me)
s = loader.stats()
print("REPORT " + json.dumps({"images": n, "seconds": seconds, "backend": s["decode_backend"],
    "zeroCopy": s["shared_zero_copy_batches"], "copied": s["shared_copied_batches"],
    "inflightHighWaterBytes": s["inflight_high_water_bytes"],
    "cpuSeconds": cpu1[me] - cpu0[me] + runtime, "pythonCpuSeconds": cpu1[me] - cpu0[me],
    "runtimeCpuSeconds": runtime}))
`;

interface Report {
  images: number;
  seconds: number;
  backend?: string;
  zeroCopy?: number;
  copied?: number;
  inflightHighWaterBytes?: number;
  /** CPU seconds of the row's whole tree over the timed window. */
  cpuSeconds?: number;
  /** (a): of which the Python process. */
  pythonCpuSeconds?: number;
  /** (a): of which the runtime child. */
  runtimeCpuSeconds?: number;
}

// Baseline rows: an interpreter with torch / numpy imported, doing nothing.
const BASELINE_PY = `
import importlib, json, sys, time
importlib.import_module(sys.argv[1])
time.sleep(0.5)
print("REPORT " + json.dumps({"images": 0, "seconds": 1}))
`;

interface Row {
  name: string;
  /** Images/s of the unsampled run. */
  ips: number;
  /** Images/s of the run with the memory sampler. */
  sampledIps: number;
  /** CPU ms per image (unsampled run), and its Python / runtime shares. */
  cpuMs: number;
  pythonCpuMs?: number;
  runtimeCpuMs?: number;
  rss: number;
  pss: number;
  report: Report;
}

/** Runs a row once and parses its report (`pollMs` 0: unsampled). */
async function runRow(
  r: { name: string; cmd: string; args: string[] },
  pollMs: number,
) {
  const m = await runMeasured(r.cmd, r.args, { NO_COLOR: "1" }, pollMs, true);
  const line = m.stdout.split("\n").find((l) => l.startsWith("REPORT "));
  if (m.code !== 0 || !line) {
    console.error(m.stderr);
    throw new Error(`${r.name} failed (exit ${m.code})`);
  }
  return { m, report: JSON.parse(line.slice(7)) as Report };
}

async function has(args: string[]): Promise<boolean> {
  return (await new Deno.Command(PYTHON, {
    args,
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ success: false }))).success;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "5000" },
      dir: { type: "string", default: "/tmp/mx8-bench-loader" },
      repeat: { type: "string", default: "3" },
    },
  });
  const repeat = Number(values.repeat);
  const dir = values.dir!;
  const images = Number(values.images);
  if (!await has(["-c", "import numpy"])) {
    console.error(
      `${PYTHON} has no numpy: apt-get install -y python3-numpy (or set MX8_PYTHON)`,
    );
    Deno.exit(1);
  }
  const torch = await has(["-c", "import torch, torchvision"]);
  if (!torch) {
    console.error(
      "PyTorch not found: apt-get install -y python3-torch python3-torchvision (rows (a) and (c) skipped)",
    );
  }
  await prepare(dir, images);
  const store = `${dir}/store`;
  const runs: { name: string; cmd: string; args: string[] }[] = [];
  if (torch) {
    runs.push({
      name: "(a) mx8 from Python, torch tensors",
      cmd: PYTHON,
      args: ["-c", MX8_PY, `${dir}/packed`, store, "torch"],
    });
  }
  runs.push(
    {
      name: "(a') mx8 from Python, numpy (no torch import)",
      cmd: PYTHON,
      args: ["-c", MX8_PY, `${dir}/packed`, store, "numpy"],
    },
    {
      name: "(b) Deno ImageFolderLoader alone",
      cmd: Deno.execPath(),
      args: ["run", "-A", "--quiet", LOADER_TS, "--child", "loader-native"]
        .concat(["--dir", dir]),
    },
  );
  if (torch) {
    runs.push({
      name: "(c) PyTorch DataLoader(num_workers=2)",
      cmd: PYTHON,
      args: ["-c", PYTORCH, `${dir}/raw`],
    }, {
      name: '(t) python3 + "import torch" alone',
      cmd: PYTHON,
      args: ["-c", BASELINE_PY, "torch"],
    });
  }
  runs.push({
    name: '(p) python3 + "import numpy" alone',
    cmd: PYTHON,
    args: ["-c", BASELINE_PY, "numpy"],
  });
  const samples = new Map<string, Row[]>(runs.map((r) => [r.name, []]));
  const perImageMs = (sec: number | undefined, rep: Report) =>
    sec === undefined ? NaN : sec / rep.images * 1000;
  for (let i = 1; i <= repeat; i++) {
    for (const r of runs) {
      console.error(`round ${i}/${repeat}: ${r.name} …`);
      const baseline = r.name.startsWith("(t)") || r.name.startsWith("(p)");
      // Speed and CPU unsampled; then the peaks, sampled.
      const fast = baseline ? undefined : (await runRow(r, 0)).report;
      const { m, report } = await runRow(r, 25);
      const timed = fast ?? report;
      samples.get(r.name)!.push({
        name: r.name,
        ips: timed.images / timed.seconds,
        sampledIps: report.images / report.seconds,
        cpuMs: perImageMs(timed.cpuSeconds, timed),
        pythonCpuMs: perImageMs(timed.pythonCpuSeconds, timed),
        runtimeCpuMs: perImageMs(timed.runtimeCpuSeconds, timed),
        rss: m.peakRssBytes,
        pss: m.peakPssBytes,
        report,
      });
    }
  }
  const rows: Row[] = runs.map((r) => {
    const s = samples.get(r.name)!;
    const med = (f: (x: Row) => number | undefined) =>
      median(s.map((x) => f(x) ?? NaN));
    return {
      name: r.name,
      ips: med((x) => x.ips),
      sampledIps: med((x) => x.sampledIps),
      cpuMs: med((x) => x.cpuMs),
      pythonCpuMs: med((x) => x.pythonCpuMs),
      runtimeCpuMs: med((x) => x.runtimeCpuMs),
      rss: med((x) => x.rss),
      pss: med((x) => x.pss),
      report: s[0].report,
    };
  });
  const find = (p: string) => rows.find((r) => r.name.startsWith(p));
  const a = find("(a)"), a2 = find("(a')")!, b = find("(b)")!, c = find("(c)");
  const t = find("(t)"), p = find("(p)")!;
  console.log(
    `\n### bench:python — ${images} JPEGs 500×375 → 224×224 float32, batch 64, maxInflightBytes 256 MiB, median of ${repeat}\n`,
  );
  console.log(
    "| run | images/s | vs (b) | vs (c) | CPU ms/image | images/s, sampled | peak tree RSS (MiB) | peak tree PSS (MiB) |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  const ms = (x: number | undefined) =>
    x === undefined || isNaN(x) ? "" : x.toFixed(2);
  for (const r of rows) {
    if (r.report.images === 0) {
      console.log(
        `| ${r.name} | – | | | | | ${mib(r.rss)} | ${mib(r.pss)} |`,
      );
      continue;
    }
    const vsC = c ? (r.ips / c.ips).toFixed(2) + "×" : "n/a";
    const cpu = isNaN(r.pythonCpuMs ?? NaN)
      ? ms(r.cpuMs)
      : `${ms(r.cpuMs)} (${ms(r.pythonCpuMs)} Python + ${
        ms(r.runtimeCpuMs)
      } runtime)`;
    console.log(
      `| ${r.name} | ${r.ips.toFixed(0)} | ${
        (r.ips / b.ips).toFixed(2)
      }× | ${vsC} | ${cpu} | ${r.sampledIps.toFixed(0)} (${
        (r.sampledIps / b.sampledIps).toFixed(2)
      }×) | ${mib(r.rss)} | ${mib(r.pss)} |`,
    );
  }
  console.log("");
  const cap = 64 * 2 ** 20;
  const own = (x: Row, base: Row, m: "rss" | "pss") =>
    `${m.toUpperCase()} ${mib(x[m])} − ${mib(base[m])} = ${
      mib(x[m] - base[m])
    } vs (b) ${mib(b[m])} + 64 = ${mib(b[m] + cap)} MiB: ${
      x[m] - base[m] <= b[m] + cap ? "within" : "OVER"
    }`;
  for (const [x, base] of [[a, t], [a2, p]] as const) {
    if (!x || !base) continue;
    const goals = [
      c ? `${(x.ips / c.ips).toFixed(2)}× (c) (goal ≥ 3×)` : "",
      `${(x.ips / b.ips).toFixed(2)}× (b) (goal ≥ 0.95×); CPU per image ${
        ms(x.cpuMs)
      } ms (Python ${ms(x.pythonCpuMs)} + runtime ${
        ms(x.runtimeCpuMs)
      }) vs (b) ${ms(b.cpuMs)} ms: ${(x.cpuMs / b.cpuMs).toFixed(2)}×`,
      `whole tree ${mib(x.rss)} RSS / ${mib(x.pss)} PSS vs (b) + 64 = ${
        mib(b.rss + cap)
      } / ${mib(b.pss + cap)} MiB: ${
        x.rss <= b.rss + cap && x.pss <= b.pss + cap ? "within" : "OVER"
      }`,
      `binding's own cost, tree minus ${base.name.slice(0, 3)}: ${
        own(x, base, "rss")
      }, ${own(x, base, "pss")}`,
      c
        ? `vs (c) RSS ${mib(c.rss)} / PSS ${mib(c.pss)} MiB: ${
          x.rss < c.rss && x.pss < c.pss ? "lower" : "NOT lower"
        }`
        : "",
      `zero-copy batches ${x.report.zeroCopy}, copied ${x.report.copied}; inflight high water ${
        mib(x.report.inflightHighWaterBytes ?? 0)
      } MiB`,
    ];
    console.log(`${x.name}:\n  ${goals.filter(Boolean).join("\n  ")}`);
  }
  if (a && t) {
    const inA = a.pss - a2.pss, alone = t.pss - p.pss;
    console.log(
      `torch inside (a): (a) − (a') = ${mib(inA)} MiB PSS / ${
        mib(a.rss - a2.rss)
      } RSS; "import torch" alone: (t) − (p) = ${mib(alone)} PSS / ${
        mib(t.rss - p.rss)
      } RSS; difference ${
        mib(inA - alone)
      } MiB PSS (what mx8's use of torch adds, plus run-to-run noise of the runtime's queue fill)`,
    );
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

if (import.meta.main) await main();
