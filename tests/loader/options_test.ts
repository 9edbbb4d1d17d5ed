import assert from "node:assert/strict";
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { ImageFolderLoader } from "../../lib/loader/image_folder.ts";
import {
  type LoaderOptions,
  validateImageOptions,
  validateLoaderOptions,
} from "../../lib/loader/options.ts";
import type { ImageFolderLoaderOptions } from "../../lib/loader/image_folder.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

Deno.test("a loader with fetchConcurrency 0 or -1 is refused at construction (it used to hang in next())", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, { "a/1.txt": "x", "b/2.txt": "y" });
  for (const fetchConcurrency of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => new DataLoader(dir.path, { fetchConcurrency }),
      (err: unknown) => {
        assert.ok(err instanceof RangeError, String(err));
        assert.equal(
          err.message,
          `Loader option fetchConcurrency must be an integer in 1..1024, got ${fetchConcurrency}`,
        );
        return true;
      },
    );
  }
});

Deno.test("every numeric loader option is range-checked, naming option, value and range", () => {
  const bad: [LoaderOptions, RegExp][] = [
    [
      { batchSizeSamples: 0 },
      /batchSizeSamples must be an integer in 1\.\.16777216, got 0/,
    ],
    [{ maxInflightBytes: -5 }, /maxInflightBytes must be an integer in 1\.\./],
    [{ maxQueueBatches: 0 }, /maxQueueBatches .* got 0/],
    [{ prefetchBatches: Infinity }, /prefetchBatches .* got Infinity/],
    [{ maxProcessRssBytes: 0 }, /maxProcessRssBytes/],
    [{ epoch: -1 }, /epoch must be an integer in 0\.\./],
    [{ startId: -1 }, /startId/],
    [{ endId: 2.5 }, /endId/],
    [
      { startId: 9, endId: 3 },
      /startId must not exceed endId, got startId 9 > endId 3/,
    ],
    [{ shuffleBlockSize: 0 }, /shuffleBlockSize/],
    [{ want: 0 }, /want must be an integer in 1\.\.1024, got 0/],
    [
      { connectTimeoutMs: -1 },
      /connectTimeoutMs must be an integer in 0\.\.2147483647/,
    ],
    [{ barrierTimeoutMs: 1e12 }, /barrierTimeoutMs/],
    [{ seed: 0.5 }, /seed must be a safe integer or a bigint, got 0\.5/],
    [{ autotune: { tickMs: 0 } }, /autotune\.tickMs/],
  ];
  for (const [o, re] of bad) {
    assert.throws(
      () => validateLoaderOptions(o),
      RangeError,
      JSON.stringify(o),
    );
    assert.throws(() => validateLoaderOptions(o), re);
  }
  assert.throws(
    () =>
      validateLoaderOptions({ batchSizeSamples: "64" as unknown as number }),
    (err: unknown) =>
      err instanceof TypeError &&
      /batchSizeSamples must be an integer in 1\.\.16777216, got "64"/.test(
        err.message,
      ),
  );
  const good: LoaderOptions = {
    batchSizeSamples: 64,
    fetchConcurrency: 16,
    seed: 7n,
    epoch: 0,
    startId: 0,
    endId: 10,
    connectTimeoutMs: 0,
  };
  assert.equal(validateLoaderOptions(good), good);
});

Deno.test("image options: onDecodeError typos, backends and sizes are refused, not taken as skip", () => {
  const bad: [ImageFolderLoaderOptions, ErrorConstructor, RegExp][] = [
    [
      { onDecodeError: "Error" as "error" },
      TypeError,
      /onDecodeError must be one of "error", "skip", got "Error"/,
    ],
    [
      { decodeBackend: "gpu" as "auto" },
      TypeError,
      /decodeBackend must be one of "native", "sharp", "auto", got "gpu"/,
    ],
    [
      { resizeHw: [0, 224] },
      RangeError,
      /resizeHw must be \[height, width\], two integers in 1\.\.65535, got \[0,224\]/,
    ],
    [
      { decodeThreads: -1 },
      RangeError,
      /decodeThreads must be an integer in 0\.\.1024/,
    ],
    [{ maxPixels: 0 }, RangeError, /maxPixels/],
    [
      { toFloat: "yes" as unknown as boolean },
      TypeError,
      /toFloat must be true or false/,
    ],
  ];
  for (const [o, type, re] of bad) {
    assert.throws(() => validateImageOptions(o), type, JSON.stringify(o));
    assert.throws(() => validateImageOptions(o), re);
    // And the loader refuses them before doing anything.
    assert.throws(() => new ImageFolderLoader("/nonexistent", o), re);
  }
});
