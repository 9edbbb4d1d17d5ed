/**
 * Shared fixture for mix tests: small raw and image datasets on disk, each
 * with its own manifest store.
 *
 * @module
 */
import { generatePhotoJpegs } from "../../scripts/gen_jpegs.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";
import { writeTree } from "../_helpers/tmp.ts";

const made = new Map<string, Promise<string>>();

function keep(dir: string): string {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  return dir;
}

/**
 * A raw dataset of `n` small files (`<name> <i>`), made once per process.
 *
 * @param name Dataset name (also the files' text).
 * @param n Number of files.
 * @returns Its directory.
 */
export function rawDataset(name: string, n: number): Promise<string> {
  const key = `raw:${name}:${n}`;
  let p = made.get(key);
  if (!p) {
    p = (async () => {
      const dir = keep(await Deno.makeTempDir({ prefix: `mx8-mix-${name}-` }));
      const files: Record<string, string> = {};
      for (let i = 0; i < n; i++) {
        files[`c${i % 3}/${String(i).padStart(5, "0")}.bin`] = `${name} ${i} `
          .repeat(1 + (i % 5));
      }
      await writeTree(dir, files);
      return dir;
    })();
    made.set(key, p);
  }
  return p;
}

/**
 * An image dataset of `n` photo-like JPEGs (2 classes), made once per process.
 *
 * @param name Dataset name.
 * @param n Number of images.
 * @param seed Generator seed.
 * @param size `[width, height]` of every image (default 40×32).
 * @returns Its directory.
 */
export function imageDataset(
  name: string,
  n: number,
  seed: number,
  [width, height]: [number, number] = [40, 32],
): Promise<string> {
  const key = `img:${name}:${n}:${seed}:${width}x${height}`;
  let p = made.get(key);
  if (!p) {
    p = (async () => {
      const dir = keep(await Deno.makeTempDir({ prefix: `mx8-mix-${name}-` }));
      await generatePhotoJpegs(dir, {
        count: n,
        classes: ["a", "b"],
        width,
        height,
        seed,
      });
      return dir;
    })();
    made.set(key, p);
  }
  return p;
}

/**
 * A fresh manifest store under a temp dir.
 *
 * @returns The store.
 */
export async function freshStore(): Promise<FsManifestStore> {
  return new FsManifestStore(
    keep(await Deno.makeTempDir({ prefix: "mx8-mix-store-" })),
  );
}

/**
 * Max over prefixes and sources of |count_i − w_i·n| for a unit sequence.
 *
 * @param units Source index of each unit, in order.
 * @param weights Normalized static weights.
 * @param upTo Prefixes to check (default all).
 * @returns The worst deviation.
 */
export function maxPrefixDeviation(
  units: number[],
  weights: number[],
  upTo = units.length,
): number {
  const c = weights.map(() => 0);
  let worst = 0;
  for (let n = 1; n <= upTo; n++) {
    c[units[n - 1]]++;
    weights.forEach((w, i) => {
      worst = Math.max(worst, Math.abs(c[i] - w * n));
    });
  }
  return worst;
}

/**
 * SHA-256 of a sequence of (source, sample id) pairs.
 *
 * @param pairs The pairs.
 * @returns Hex digest.
 */
export async function sequenceHash(pairs: [number, number][]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(pairs));
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}
