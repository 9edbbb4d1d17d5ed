/**
 * Decode benchmark: images/s decoding ≈500×375 photo-like JPEGs to 224×224
 * float32 NCHW batches with the native decoder (1 and 2 threads) and sharp
 * (concurrency 2, including the HWC → NCHW float32 conversion), against the
 * libjpeg-turbo ceiling (full-size decode to RGB, no resize). Prints a
 * markdown table.
 *
 * Needs the native library (checked first; `deno task bench:decode` builds
 * `ffi/` when it can).
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
import { NativeDecoder, requireNativeLibrary } from "../../lib/native/mod.ts";
import { nativeLibrary, requirePrerequisites } from "./_prereq.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    images: { type: "string", default: "400" },
    batch: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
  },
});
requirePrerequisites("bench:decode", [nativeLibrary()]);
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

interface Row {
  name: string;
  pass: () => Promise<void>;
  rates: number[];
  rate: number;
}
const rows: Row[] = [];
const add = (name: string, pass: () => Promise<void>) =>
  rows.push({ name, pass, rates: [], rate: 0 });
const plural = (n: number) => `${n} thread${n > 1 ? "s" : ""}`;

const decoder = new NativeDecoder({ library: requireNativeLibrary() });
for (const threads of [1, 2]) {
  add(`native, ${plural(threads)}`, async () => {
    for (const batch of batches) {
      const out = await decoder.decodeBatch(batch, { ...size, threads });
      if (out.errors.some((e) => e !== null)) {
        throw new Error(String(out.errors));
      }
      out.release();
    }
  });
}
for (const threads of [1, 2]) {
  add(`decode-only ceiling, ${plural(threads)}`, async () => {
    for (const batch of batches) {
      const out = await decoder.decodeOnly(batch, { threads });
      if (out.statuses.some((s) => s !== 0)) throw new Error("decode failed");
    }
  });
}
const sharpDecoder = new SharpDecoder({ concurrency: 2 });
add("sharp, concurrency 2", async () => {
  for (const batch of batches) {
    const out = await sharpDecoder.decodeBatch(batch, size);
    if (out.errors.some((e) => e !== null)) throw new Error(String(out.errors));
    out.release();
  }
});

// Rounds are interleaved (every path once per round) so that load from
// other processes hits all paths alike; the median round is reported.
for (const row of rows) await row.pass(); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const row of rows) {
    const start = performance.now();
    await row.pass();
    row.rates.push(images.length / ((performance.now() - start) / 1000));
  }
}
for (const row of rows) {
  row.rates.sort((a, b) => a - b);
  row.rate = row.rates[Math.floor(row.rates.length / 2)];
}

const rate = (prefix: string) =>
  rows.find((r) => r.name.startsWith(prefix))?.rate;
const fmt = (x: number) => x.toFixed(0);
const lines = [
  `Decode ${images.length} JPEGs (≈500×375, q80–95) → 224×224 float32 NCHW, batches of ${batchSize}, ` +
  `median of ${rounds} rounds, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
  "",
  "| path | images/s | ms/image |",
  "|---|---:|---:|",
  ...rows.map((r) =>
    `| ${r.name} | ${fmt(r.rate)} | ${(1000 / r.rate).toFixed(2)} |`
  ),
];
const n2 = rate("native, 2");
const n1 = rate("native, 1");
const sh = rate("sharp");
const c1 = rate("decode-only ceiling, 1");
const c2 = rate("decode-only ceiling, 2");
if (n2 && sh && n1 && c1 && c2) {
  lines.push(
    "",
    "| ratio | value | goal |",
    "|---|---:|---:|",
    `| native (2 threads) / sharp | ${(n2 / sh).toFixed(2)}× | ≥ 2.5× |`,
    `| native (1 thread) / decode-only ceiling (1 thread) | ${
      (n1 / c1).toFixed(2)
    }× | ≥ 0.75× |`,
    `| native (2 threads) / decode-only ceiling (2 threads) | ${
      (n2 / c2).toFixed(2)
    }× | ≥ 0.75× |`,
  );
}
lines.push(
  "",
  "native = header + DCT-domain shrink (1/2^k) + libjpeg-turbo decode to YCbCr planes + " +
    "antialiased triangle resize + colour conversion + float32 NCHW, into a pool slab; " +
    "decode-only ceiling = libjpeg-turbo full-size decode to RGB, no resize; " +
    "sharp = sharp(buf).resize(224, 224, fit fill, linear).raw() + HWC→NCHW float32 in JS.",
);
console.log(lines.join("\n"));
sharpDecoder.close();
