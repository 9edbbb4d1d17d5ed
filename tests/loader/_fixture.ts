/**
 * Shared fixture for loader tests: a small ImageFolder dataset of photo-like
 * JPEGs (made once per test process).
 *
 * @module
 */
import assert from "node:assert/strict";
import { generatePhotoJpegs } from "../../scripts/gen_jpegs.ts";
import type { ImageFolderLoader } from "../../lib/loader/image_folder.ts";

let made: Promise<string> | undefined;

/** 3 classes × 16 images of 64×48 px, under a temp dir kept for the process. */
export function imageFolderFixture(): Promise<string> {
  return made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "mx8-loader-fixture-" });
    await generatePhotoJpegs(dir, {
      count: 48,
      classes: ["cat", "dog", "eel"],
      width: 64,
      height: 48,
      seed: 3,
    });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    return dir;
  })();
}

/** A fresh temp manifest store dir. */
export function storeDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "mx8-store-" });
}

/**
 * Asserts two loaders deliver the same batches (ids, labels, pixels) and
 * end together, and pin the same manifest.
 *
 * @param a Reference loader.
 * @param b Loader under test.
 */
export async function assertSameBatches(
  a: ImageFolderLoader,
  b: ImageFolderLoader,
): Promise<void> {
  for (;;) {
    const [x, y] = [await a.next(), await b.next()];
    if (x === null || y === null) {
      assert.equal(x, y);
      break;
    }
    assert.deepEqual(y.sampleIds, x.sampleIds);
    assert.deepEqual(y.labels, x.labels);
    assert.deepEqual(y.images.data, x.images.data);
  }
  assert.equal(b.manifestHash, a.manifestHash);
}
