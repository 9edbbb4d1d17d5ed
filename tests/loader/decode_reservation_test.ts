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
