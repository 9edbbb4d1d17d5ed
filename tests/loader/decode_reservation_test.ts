import assert from "node:assert/strict";
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { planDecodeReservation } from "../../lib/loader/decode_reservation.ts";
import { generatePhotoJpegs } from "../../scripts/gen_jpegs.ts";
import { nativeMissing } from "../native/_fixtures.ts";
import { tempDir } from "../_helpers/tmp.ts";

const MIB = 1048576;

Deno.test("planDecodeReservation: the largest needs of one round of concurrent decodes", () => {
  assert.deepEqual(
    planDecodeReservation({
      needs: [3, 9, 4, 1],
      heldBytes: 10,
      capBytes: 100,
      concurrency: 2,
    }),
    { bytes: 13, concurrency: 2, refused: [] },
  );
  // Two of the largest do not fit together: one at a time.
  assert.deepEqual(
    planDecodeReservation({
      needs: [60, 50, 4],
      heldBytes: 10,
      capBytes: 100,
      concurrency: 2,
    }),
    { bytes: 60, concurrency: 1, refused: [] },
  );
  // A need that cannot fit next to the batch is refused; the rest decode.
  assert.deepEqual(
    planDecodeReservation({
      needs: [5, 91, 7],
      heldBytes: 10,
      capBytes: 100,
      concurrency: 4,
    }),
    { bytes: 12, concurrency: 2, refused: [1] },
  );
  assert.deepEqual(
    planDecodeReservation({
      needs: [200],
      heldBytes: 10,
      capBytes: 100,
      concurrency: 2,
    }),
    { bytes: 0, concurrency: 1, refused: [0] },
  );
});

/** A flat 8000×6000 JPEG (small file, 48 MP): progressive or baseline. */
async function bigJpeg(progressive: boolean): Promise<Uint8Array> {
  const tile = await sharp({
    create: { width: 80, height: 60, channels: 3, background: "#3070c0" },
  }).composite([{
    input: {
      create: { width: 40, height: 30, channels: 3, background: "#e02010" },
    },
    left: 10,
    top: 10,
  }]).png().toBuffer();
  return await sharp(tile).resize(8000, 6000, { kernel: "nearest" })
    .jpeg({ quality: 85, progressive, chromaSubsampling: "4:2:0" })
    .toBuffer();
}

/** 6 photos + 2 progressive and 2 baseline 8000×6000 JPEGs, ImageFolder layout. */
async function bigDataset(dir: string): Promise<void> {
  await generatePhotoJpegs(dir, {
    count: 6,
    classes: ["a", "b"],
    width: 320,
    height: 240,
  });
  const prog = await bigJpeg(true), base = await bigJpeg(false);
  await Deno.writeFile(`${dir}/a/big_prog_1.jpg`, prog);
  await Deno.writeFile(`${dir}/b/big_prog_2.jpg`, prog);
  await Deno.writeFile(`${dir}/a/big_base_1.jpg`, base);
  await Deno.writeFile(`${dir}/b/big_base_2.jpg`, base);
}

interface ChildResult {
  ids: number[];
  error?: string;
  openRss: number;
  peakRss: number;
  inflightHighWaterBytes: number;
  decodeErrorsSkippedTotal: number;
  decodeBackend: string;
}

async function runChild(
  dir: string,
  cap: number,
  backend: string,
  onDecodeError: string,
  maxPixels?: number,
): Promise<ChildResult> {
  await using store = await tempDir("mx8-store-");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      fileURLToPath(new URL("./_decode_memory_child.ts", import.meta.url)),
      dir,
      store.path,
      String(cap),
      backend,
      onDecodeError,
      ...maxPixels ? [String(maxPixels)] : [],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(
    out.success && text,
    `child failed: ${new TextDecoder().decode(out.stderr)}`,
  );
  return JSON.parse(text.split("\n").at(-1)!);
}

// A progressive 8000×6000 4:2:0 JPEG keeps 8000 × 6000 × 3 bytes
// (137 MiB) of DCT coefficients while it decodes, at any DCT scale.
for (const backend of ["native", "sharp"] as const) {
  const ignore = backend === "native" && nativeMissing;
  Deno.test({
    name:
      `decode memory (${backend}): two 137 MiB progressive decodes never run at once under a 200 MiB cap; RSS stays within the cap`,
    ignore,
    async fn() {
      await using dir = await tempDir();
      await bigDataset(dir.path);
      const cap = 200 * MIB;
      const r = await runChild(dir.path, cap, backend, "error");
      assert.equal(r.error, undefined);
      assert.equal(r.decodeBackend, backend);
      assert.equal(r.ids.length, 10);
      assert.ok(r.inflightHighWaterBytes <= cap);
      // Decoding both progressive images at once needs ≥ 274 MiB.
      const grew = r.peakRss - r.openRss;
      assert.ok(
        grew <= 1.1 * cap + 16 * MIB,
        `peak RSS − RSS at open = ${(grew / MIB).toFixed(0)} MiB > 1.1 × ${
          cap / MIB
        } MiB + 16 MiB`,
      );
      assert.ok(
        r.inflightHighWaterBytes > 137 * MIB,
        "the progressive decode was reserved",
      );
    },
  });

  Deno.test({
    name:
      `decode memory (${backend}): an image whose decode cannot fit the cap is a clear per-sample error, or skipped`,
    ignore,
    async fn() {
      await using dir = await tempDir();
      await bigDataset(dir.path);
      const cap = 64 * MIB;
      const failed = await runChild(dir.path, cap, backend, "error");
      assert.match(
        failed.error ?? "",
        /^DecodeError: cannot decode sample \d+ \([ab]\/big_prog_\d\.jpg\): decoding this progressive JPEG 8000×6000, 3 components needs 1[34]\d\.\d MiB of working memory.* exceeds maxInflightBytes 67108864 \(64\.0 MiB\); it needs maxInflightBytes ≥ \d+.*; raise maxInflightBytes, lower maxPixels to refuse such images, or pass onDecodeError: "skip"$/,
      );
      const skipped = await runChild(dir.path, cap, backend, "skip");
      assert.equal(skipped.error, undefined);
      assert.equal(skipped.ids.length, 8);
      assert.equal(skipped.decodeErrorsSkippedTotal, 2);
      const grew = skipped.peakRss - skipped.openRss;
      assert.ok(
        grew <= 1.1 * cap + 16 * MIB,
        `peak RSS − RSS at open = ${(grew / MIB).toFixed(0)} MiB`,
      );
    },
  });
}

/** peak RSS − RSS at open stays within 1.1 × cap + 16 MiB. */
function assertRssWithin(r: ChildResult, cap: number): void {
  const grew = r.peakRss - r.openRss;
  assert.ok(
    grew <= 1.1 * cap + 16 * MIB,
    `peak RSS − RSS at open = ${(grew / MIB).toFixed(0)} MiB > 1.1 × ${
      cap / MIB
    } MiB + 16 MiB`,
  );
}

/** 4 photos in a/ and b/ (ids 0–3 once sorted with the rest). */
async function photos(dir: string): Promise<void> {
  await generatePhotoJpegs(dir, {
    count: 4,
    classes: ["a", "b"],
    width: 320,
    height: 240,
  });
}

/**
 * An 8000×8000 GIF whose logical screen descriptor says 1×1: libvips grows
 * the canvas to the frame, 8000×8000 (244 MiB as RGBA).
 */
async function lyingGif(): Promise<Uint8Array> {
  const gif = new Uint8Array(
    await sharp({
      create: { width: 8000, height: 8000, channels: 3, background: "#336699" },
    }).gif().toBuffer(),
  );
  gif.set([1, 0, 1, 0], 6);
  return gif;
}

for (const backend of ["sharp", "auto"] as const) {
  Deno.test(
    `decode memory (${backend}): a GIF whose header says 1×1 but whose frame is 8000×8000 is refused, and RSS stays within the cap`,
    async () => {
      await using dir = await tempDir();
      await photos(dir.path);
      await Deno.writeFile(`${dir.path}/a/lie.gif`, await lyingGif());
      const cap = 64 * MIB;
      const failed = await runChild(dir.path, cap, backend, "error");
      assert.match(
        failed.error ?? "",
        /^DecodeError: cannot decode sample \d+ \(a\/lie\.gif\): .*the image is larger than its header says \(1 pixels, which its decode memory was sized for\); refused \(Input image exceeds pixel limit\)/,
      );
      assertRssWithin(failed, cap);
      const skipped = await runChild(dir.path, cap, backend, "skip");
      assert.equal(skipped.error, undefined);
      assert.equal(skipped.ids.length, 4);
      assert.equal(skipped.decodeErrorsSkippedTotal, 1);
      assertRssWithin(skipped, cap);
    },
  );

  Deno.test(
    `decode memory (${backend}): small TIFF, AVIF and SVG images are sized by their header and decode under the default cap and under 64 MiB`,
    async () => {
      await using dir = await tempDir();
      await photos(dir.path);
      const img = () =>
        sharp({
          create: { width: 100, height: 100, channels: 3, background: "#369" },
        });
      await Deno.writeFile(
        `${dir.path}/a/x.tiff`,
        await img().tiff().toBuffer(),
      );
      await Deno.writeFile(
        `${dir.path}/a/x.avif`,
        await img().avif().toBuffer(),
      );
      await Deno.writeTextFile(
        `${dir.path}/b/x.svg`,
        `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="80"><rect width="100" height="80" fill="#369"/></svg>`,
      );
      for (const cap of [256 * MIB, 64 * MIB]) {
        const r = await runChild(dir.path, cap, backend, "error");
        assert.equal(r.error, undefined);
        assert.equal(r.ids.length, 7);
        assert.ok(r.inflightHighWaterBytes <= cap);
        assertRssWithin(r, cap);
      }
    },
  );

  Deno.test(
    `decode memory (${backend}): a TIFF whose IFD claims 8000×8000 over 100×100 pixel data is refused, and RSS stays within the cap`,
    async () => {
      await using dir = await tempDir();
      await photos(dir.path);
      const tiff = new Uint8Array(
        await sharp({
          create: { width: 100, height: 100, channels: 3, background: "#369" },
        }).tiff({ compression: "none" }).toBuffer(),
      );
      patchTiffSize(tiff, 8000, 8000);
      await Deno.writeFile(`${dir.path}/a/lie.tiff`, tiff);
      const cap = 64 * MIB;
      const failed = await runChild(dir.path, cap, backend, "error");
      assert.match(
        failed.error ?? "",
        /^DecodeError: cannot decode sample \d+ \(a\/lie\.tiff\): /,
      );
      assertRssWithin(failed, cap);
      const skipped = await runChild(dir.path, cap, backend, "skip");
      assert.equal(skipped.error, undefined);
      assert.equal(skipped.ids.length, 4);
      assertRssWithin(skipped, cap);
    },
  );
}

/** Rewrites ImageWidth (256) and ImageLength (257) in a little-endian TIFF's first IFD. */
function patchTiffSize(tiff: Uint8Array, width: number, height: number): void {
  const dv = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  assert.equal(dv.getUint16(0), 0x4949, "little-endian TIFF");
  const ifd = dv.getUint32(4, true);
  const n = dv.getUint16(ifd, true);
  for (let e = 0; e < n; e++) {
    const at = ifd + 2 + 12 * e;
    const tag = dv.getUint16(at, true);
    if (tag !== 256 && tag !== 257) continue;
    const v = tag === 256 ? width : height;
    if (dv.getUint16(at + 2, true) === 3) dv.setUint16(at + 8, v, true);
    else dv.setUint32(at + 8, v, true);
  }
}

for (const backend of ["native", "sharp"] as const) {
  Deno.test({
    name:
      `decode memory (${backend}): an image over maxPixels is refused as over maxPixels, not as needing more memory than the cap`,
    ignore: backend === "native" && nativeMissing,
    async fn() {
      await using dir = await tempDir();
      await photos(dir.path);
      await Deno.writeFile(`${dir.path}/a/big_prog.jpg`, await bigJpeg(true));
      const cap = 64 * MIB;
      const r = await runChild(dir.path, cap, backend, "error", 10_000_000);
      assert.match(
        r.error ?? "",
        /^DecodeError: cannot decode sample \d+ \(a\/big_prog\.jpg\): .*(over maxPixels 10000000|max.?pixels)/i,
      );
      assert.doesNotMatch(r.error!, /working memory/);
      assertRssWithin(r, cap);
    },
  });
}
