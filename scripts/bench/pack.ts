/**
 * Benchmark of `mx8 pack` against GNU tar on the same files.
 *
 * For each file count it builds (and caches) an ImageFolder dataset, then
 * alternates `tar -cf` and `mx8 pack` (a child `deno run main.ts pack`, under
 * `/usr/bin/time -v` for its peak RSS) over the warm page cache, and prints
 * the medians as a markdown table. Goal: pack ≥ 0.8× tar's MB/s, peak RSS
 * flat (±10%) as the file count grows. Variants: the default (local to
 * local with `libmx8_ffi`: one-call listing, each file appended by
 * `copy_file_range`), the same without the library (Deno stat + blocking
 * reads), and `--concurrency 4` (threaded reads).
 *
 * Needs GNU `tar`, `/usr/bin/time` (Debian `time`) and the native library,
 * checked first (`deno task bench:pack` builds `ffi/` when it can).
 *
 * ```sh
 * deno run -A --unsafe-proto scripts/bench/pack.ts [--counts 2000,20000] \
 *   [--kind random|jpeg] [--runs 3] [--dir /tmp/mx8-bench-pack]
 * ```
 * `random`: random bytes of 30–150 KB (JPEG-sized, fast to make);
 * `jpeg`: photo-like JPEGs from scripts/gen_jpegs.ts (slow to make at 20k).
 *
 * @module
 */
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mulberry32 } from "../gen_jpegs.ts";
import {
  GNU_TAR,
  GNU_TIME,
  nativeLibrary,
  requirePrerequisites,
} from "./_prereq.ts";

const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
const CLASSES = 10;

interface Run {
  seconds: number;
  peakRssKb: number;
}

interface Row {
  files: number;
  mb: number;
  tar: Run;
  /** Pack runs by label (`pack` = defaults, `pack -c1` = --concurrency 1). */
  packs: [string, Run][];
}

/** Writes `count` random files of 30–150 KB in ImageFolder layout. */
async function makeRandom(dir: string, count: number): Promise<void> {
  const rand = mulberry32(count);
  const buf = new Uint8Array(150_000);
  for (let c = 0; c < CLASSES; c++) {
    await Deno.mkdir(join(dir, `class_${String(c).padStart(3, "0")}`), {
      recursive: true,
    });
  }
  for (let i = 0; i < count; i++) {
    const size = 30_000 + Math.floor(rand() * 120_001);
    randomFillSync(buf, 0, size);
    const cls = `class_${String(i % CLASSES).padStart(3, "0")}`;
    await Deno.writeFile(
      join(dir, cls, `${String(i).padStart(6, "0")}.jpg`),
      buf.subarray(0, size),
    );
  }
}

/** Returns a cached dataset directory, building it on first use. */
async function dataset(root: string, kind: string, count: number) {
  const dir = join(root, `${kind}-${count}`);
  const marker = `${dir}.complete`;
  if (await Deno.stat(marker).then(() => true, () => false)) return dir;
  console.error(`bench:pack: generating ${count} ${kind} files in ${dir}…`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  if (kind === "jpeg") {
    const { generatePhotoJpegs } = await import("../gen_jpegs.ts");
    await generatePhotoJpegs(dir, { count, classes: CLASSES, concurrency: 2 });
  } else {
    await makeRandom(dir, count);
  }
  await Deno.writeTextFile(marker, "");
  return dir;
}

async function totalBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) total += await totalBytes(p);
    else total += (await Deno.stat(p)).size;
  }
  return total;
}

/** Runs a command under `/usr/bin/time -v`; wall seconds and peak RSS. */
async function timed(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const t0 = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", ...cmd],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(`${cmd.join(" ")} failed (${out.code}):\n${err}`);
  }
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  return { seconds, peakRssKb: m ? Number(m[1]) : NaN };
}

function median(runs: Run[]): Run {
  const by = (k: keyof Run) =>
    runs.map((r) => r[k]).sort((a, b) => a - b)[runs.length >> 1];
  return { seconds: by("seconds"), peakRssKb: by("peakRssKb") };
}

/** Pack variants: label, extra flags, environment. */
const VARIANTS: [string, string[], Record<string, string>][] = [
  ["mx8 pack (default: native listing + kernel copy)", [], {}],
  [
    "mx8 pack without libmx8_ffi (blocking reads)",
    [],
    // An explicit library path that does not exist: pack falls back to Deno.
    { MX8_FFI_LIB: "/nonexistent/libmx8_ffi.so" },
  ],
  ["mx8 pack --concurrency 4 (threaded reads)", ["--concurrency", "4"], {}],
];

async function bench(src: string, work: string, runs: number): Promise<Row> {
  const mb = (await totalBytes(src)) / 1e6;
  let count = 0;
  for await (const c of Deno.readDir(src)) {
    if (c.isDirectory) {
      count += (await Array.fromAsync(Deno.readDir(join(src, c.name)))).length;
    }
  }
  const tarOut = join(work, "out.tar");
  const packOut = join(work, "packed");
  const tarCmd = ["tar", "-cf", tarOut, "--sort=name", "-C", src, "."];
  const packCmd = (extra: string[]) => [
    Deno.execPath(),
    "run",
    "-A",
    "--unsafe-proto",
    "--quiet",
    MAIN_TS,
    "pack",
    "--in",
    src,
    "--out",
    packOut,
    "--overwrite",
    ...extra,
  ];
  const clean = async () => {
    await Deno.remove(tarOut).catch(() => {});
    await Deno.remove(packOut, { recursive: true }).catch(() => {});
    // Flush dirty pages so one run's writeback is not billed to the next.
    await new Deno.Command("sync").output();
  };
  // Warm the page cache (and deno's module cache) once, untimed.
  await timed(tarCmd);
  await timed(packCmd([]));
  const tar: Run[] = [];
  const packs: Run[][] = VARIANTS.map(() => []);
  for (let r = 0; r < runs; r++) {
    await clean();
    tar.push(await timed(tarCmd));
    for (let v = 0; v < VARIANTS.length; v++) {
      await clean();
      packs[v].push(await timed(packCmd(VARIANTS[v][1]), VARIANTS[v][2]));
    }
  }
  await clean();
  return {
    files: count,
    mb,
    tar: median(tar),
    packs: VARIANTS.map(([label], v) => [label, median(packs[v])]),
  };
}

function table(rows: Row[]): string {
  const lines = [
    "| files | data MB | tool | seconds | files/s | MB/s | vs GNU tar | peak RSS MB |",
    "|---:|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const tarRate = r.mb / r.tar.seconds;
    const line = (label: string, run: Run) => {
      const rate = r.mb / run.seconds;
      lines.push(
        `| ${r.files} | ${r.mb.toFixed(1)} | ${label} | ${
          run.seconds.toFixed(2)
        } | ${Math.round(r.files / run.seconds)} | ${rate.toFixed(1)} | ${
          (rate / tarRate).toFixed(2)
        }× | ${(run.peakRssKb / 1024).toFixed(1)} |`,
      );
    };
    line("GNU tar -cf", r.tar);
    for (const [label, run] of r.packs) line(label, run);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      counts: { type: "string", default: "2000,20000" },
      kind: { type: "string", default: "random" },
      runs: { type: "string", default: "3" },
      dir: { type: "string", default: "/tmp/mx8-bench-pack" },
    },
  });
  if (values.kind !== "random" && values.kind !== "jpeg") {
    console.error(`bench:pack: --kind must be random or jpeg`);
    Deno.exit(2);
  }
  requirePrerequisites("bench:pack", [GNU_TAR, GNU_TIME, nativeLibrary()]);
  const counts = values.counts.split(",").map(Number);
  const runs = Number(values.runs);
  const rows: Row[] = [];
  for (const count of counts) {
    const src = await dataset(values.dir, values.kind, count);
    const work = join(values.dir, "work");
    await Deno.mkdir(work, { recursive: true });
    console.error(`bench:pack: ${count} files: tar vs pack, ${runs} runs…`);
    rows.push(await bench(src, work, runs));
  }
  console.log(
    `\nmx8 pack vs GNU tar (${values.kind} files, local disk, warm cache, ` +
      `median of ${runs}; pack = whole \`deno run main.ts pack\` process)\n`,
  );
  console.log(table(rows));
  console.log("");
  for (const [v, [label]] of VARIANTS.entries()) {
    const rss = rows.map((r) => r.packs[v][1].peakRssKb);
    const spread = (Math.max(...rss) - Math.min(...rss)) / Math.min(...rss);
    const ratios = rows.map((r) => r.tar.seconds / r.packs[v][1].seconds);
    const fast = ratios.every((x) => x >= 0.8);
    console.log(
      `${label}: vs GNU tar ${
        ratios.map((x) => `${x.toFixed(2)}×`).join(", ")
      } (goal ≥ 0.8×: ${fast ? "met" : "NOT met"}); peak RSS spread across ` +
        `file counts ${(spread * 100).toFixed(1)}% (goal ≤ 10%: ${
          spread <= 0.1 ? "met" : "NOT met"
        })`,
    );
  }
}
