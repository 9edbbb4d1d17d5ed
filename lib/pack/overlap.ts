/**
 * Refuses pack source/destination pairs that would read their own output or
 * overwrite their input.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { Mx8Error } from "../errors.ts";
import { isS3Url } from "../s3/url.ts";

/**
 * Returns the root to compare for overlap: a local path made absolute with
 * symlinks resolved (as far as it exists), or an S3 URL without trailing `/`.
 *
 * @param location Local path or `s3://bucket/prefix`.
 * @returns The canonical root.
 */
export async function canonicalRoot(location: string): Promise<string> {
  if (isS3Url(location)) return location.replace(/\/+$/, "");
  let dir = resolve(location);
  const missing: string[] = [];
  while (true) {
    try {
      return join(await Deno.realPath(dir), ...missing.reverse());
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return resolve(location);
      missing.push(basename(dir));
      dir = parent;
    }
  }
}

/**
 * Checks that a pack from `src` to `dst` (both from {@linkcode canonicalRoot})
 * neither reads its own output nor overwrites its input:
 * - `dst` equal to `src` packs in place (fine: `shards/` and `_mx8/` are
 *   never inputs);
 * - `dst` strictly inside `src` is refused (the next pack of `src` would
 *   pack the shards again);
 * - `src` inside `dst/shards/` or `dst/_mx8/` is refused (pack writes there);
 * - `src` elsewhere inside `dst` is fine.
 *
 * @example Overlaps
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOverlap } from "./overlap.ts";
 * checkOverlap("/data/raw", "/data/raw"); // in place
 * checkOverlap("/data/raw", "/data"); // output next to the input
 * assert.throws(() => checkOverlap("/data", "/data/packed"), /inside/);
 * ```
 *
 * @param src Canonical source root.
 * @param dst Canonical destination root.
 * @throws {Mx8Error} When the locations overlap in a refused way.
 */
export function checkOverlap(src: string, dst: string): void {
  const s = src.replace(/\/+$/, "") + "/";
  const d = dst.replace(/\/+$/, "") + "/";
  if (s === d) return;
  if (d.startsWith(s)) {
    throw new Mx8Error(
      `--out ${dst} is inside --in ${src}: its shards would become inputs of ` +
        `the next pack of ${src}; choose an --out outside --in, or --out ` +
        `equal to --in to pack in place`,
    );
  }
  if (s.startsWith(d + "shards/") || s.startsWith(d + "_mx8/")) {
    throw new Mx8Error(
      `--in ${src} is inside ${d}shards/ or ${d}_mx8/, which pack ` +
        `overwrites: choose another --out`,
    );
  }
}
