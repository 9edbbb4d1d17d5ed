/**
 * Decode benchmark: images/s decoding ≈500×375 photo-like JPEGs to 224×224
 * float32 NCHW batches with the native decoder (1 and 2 threads) and sharp
 * (concurrency 2, including the HWC → NCHW float32 conversion), against the
 * libjpeg-turbo ceiling (full-size decode to RGB, no resize). Prints a
 * markdown table.
 *
 * ```sh
 * deno run -A scripts/bench/decode.ts [--images 400] [--batch 50] [--rounds 3]
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { tmpdir } from "node:os";
import { parseArgs } from "node:util";
import { generatePhotoJpegs } from "../gen_jpegs.ts";
import { SharpDecoder } from "../../lib/decode/sharp.ts";
import { loadNativeLibrary, NativeDecoder } from "../../lib/native/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    images: { type: "string", default: "400" },
    batch: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
  },
});
const count = Number(values.images);
const batchSize = Number(values.batch);
const rounds = Number(values.rounds);
const size = { height: 224, width: 224 };

const dir = join(tmpdir(), "mx8-bench-decode-v1");
const t0 = performance.now();
const paths = await generatePhotoJpegs(dir, {
  count,
  classes: 4,
  seed: 42,
  qualityRange: [80, 95],
  skipExisting: true,
});
const images = await Promise.all(paths.map((p) => Deno.readFile(p)));
const totalBytes = images.reduce((n, b) => n + b.byteLength, 0);
console.error(
  `fixtures: ${images.length} JPEGs 500x375 q80-95, avg ${
    Math.round(totalBytes / images.length / 1024)
  } KiB, in ${dir} (${Math.round(performance.now() - t0)} ms)`,
);

const batches: Uint8Array[][] = [];
for (let i = 0; i < images.length; i += batchSize) {
  batches.push(images.slice(i, i + batchSize));
}

/** Runs `pass` (one pass over all images) once to warm up, then `rounds` times; returns median images/s. */
async function measure(pass: () => Promise<void>): Promise<number> {
  await pass();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    await pass();
    rates.push(images.length / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

interface Row {
  name: string;
  rate: number;
}
const rows: Row[] = [];
const lib = loadNativeLibrary();

if (lib.ok) {
  using decoder = new NativeDecoder({ library: lib.library });
  for (const threads of [1, 2]) {
    const rate = await measure(async () => {
      for (const batch of batches) {
        const out = await decoder.decodeBatch(batch, { ...size, threads });
        if (out.errors.some((e) => e !== null)) throw new Error(String(out.errors));
        out.release();
      }
    });
    rows.push({ name: `native, ${threads} thread${threads > 1 ? "s" : ""}`, rate });
  }
  for (const threads of [1, 2]) {
    const rate = await measure(async () => {
      for (const batch of batches) {
        const out = await decoder.decodeOnly(batch, { threads });
        if (out.statuses.some((s) => s !== 0)) throw new Error("decode failed");
      }
    });
    rows.push({
      name: `decode-only ceiling (libjpeg-turbo full decode to RGB), ${threads} thread${
        threads > 1 ? "s" : ""
      }`,
      rate,
    });
  }
} else {
  console.error(`native library unavailable: ${lib.reason}`);
}

const sharpDecoder = new SharpDecoder({ concurrency: 2 });
rows.push({
  name: "sharp, concurrency 2 (incl. NCHW float32 conversion)",
  rate: await measure(async () => {
    for (const batch of batches) {
      const out = await sharpDecoder.decodeBatch(batch, size);
      if (out.errors.some((e) => e !== null)) throw new Error(String(out.errors));
      out.release();
    }
  }),
});

const rate = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))?.rate;
const fmt = (x: number) => x.toFixed(0);
const lines = [
  `Decode ${images.length} JPEGs (≈500×375, q80–95) → 224×224 float32 NCHW, batches of ${batchSize}, ` +
  `median of ${rounds} rounds, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
  "",
  "| path | images/s | ms/image |",
  "|---|---:|---:|",
  ...rows.map((r) => `| ${r.name} | ${fmt(r.rate)} | ${(1000 / r.rate).toFixed(2)} |`),
];
const n2 = rate("native, 2");
const n1 = rate("native, 1");
const sh = rate("sharp");
const c1 = rate("decode-only ceiling (libjpeg-turbo full decode to RGB), 1");
const c2 = rate("decode-only ceiling (libjpeg-turbo full decode to RGB), 2");
if (n2 && sh && n1 && c1 && c2) {
  lines.push(
    "",
    "| ratio | value | goal |",
    "|---|---:|---:|",
    `| native (2 threads) / sharp | ${(n2 / sh).toFixed(2)}× | ≥ 2.5× |`,
    `| native (1 thread) / decode-only ceiling (1 thread) | ${(n1 / c1).toFixed(2)}× | ≥ 0.75× |`,
    `| native (2 threads) / decode-only ceiling (2 threads) | ${(n2 / c2).toFixed(2)}× | ≥ 0.75× |`,
  );
}
console.log(lines.join("\n"));
