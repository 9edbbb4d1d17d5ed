/**
 * Indexing a dataset base into manifest rows (spec §2.1): a packed dataset's
 * `_mx8/manifest.tsv`, a local `.tsv` manifest, or one row per object under a
 * local directory or S3 prefix (sorted by path, `_mx8/` and `shards/` skipped).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Mx8Error, pathError } from "../errors.ts";
import type { ManifestRow } from "../manifest/row.ts";
import { serializeManifest } from "../manifest/tsv.ts";
import { canonicalManifest } from "../manifest/canonical.ts";
import { createS3Client } from "../s3/client.ts";
import { getObjectBytes, listObjects } from "../s3/objects.ts";
import { joinKey, parseS3Url } from "../s3/url.ts";
import { isS3Url } from "../s3/url.ts";
import { compareUtf8 } from "../util/bytes_order.ts";

export {
  type FoundObject,
  isSkippedPath,
  listLocalFiles,
  PACKED_LABELS,
  PACKED_MANIFEST,
  SKIPPED_TOP_DIRS,
} from "./list_local.ts";
import {
  type FoundObject,
  isSkippedPath,
  listLocalFiles,
  PACKED_MANIFEST,
} from "./list_local.ts";

/**
 * Lists every object under an S3 prefix (as a folder), sorted by key bytes,
 * skipping folder markers and `_mx8/` / `shards/` below the prefix.
 *
 * @param base `s3://bucket/prefix`.
 * @returns Objects with sizes, paths relative to the prefix.
 */
export async function listS3Objects(base: string): Promise<FoundObject[]> {
  const { bucket, key } = parseS3Url(base);
  const prefix = key === "" || key.endsWith("/") ? key : key + "/";
  const out: FoundObject[] = [];
  for await (const o of listObjects(createS3Client(), bucket, prefix)) {
    const rel = o.key.slice(prefix.length);
    if (rel === "" || rel.endsWith("/") || isSkippedPath(rel)) continue;
    out.push({ rel, size: o.size });
  }
  return out.sort((a, b) => compareUtf8(a.rel, b.rel));
}

function rowsFromObjects(objects: FoundObject[], base: string): ManifestRow[] {
  if (objects.length === 0) {
    throw new Mx8Error(
      `No objects found under ${base}: check the path, or pack the dataset first (mx8 pack)`,
    );
  }
  return objects.map((o, i) => ({ sampleId: i, location: o.rel }));
}

/**
 * Indexes a dataset base into canonical manifest bytes. An existing
 * manifest (packed or a `.tsv` file) is canonicalized as a stream
 * (`canonicalManifest`: no row array; the bytes themselves when they are
 * canonical already); a listing becomes one row per object.
 *
 * @param base Absolute local directory or `.tsv` file, or `s3://bucket/prefix`.
 * @returns Canonical manifest bytes.
 * @throws {ManifestError} When an existing manifest is malformed.
 * @throws {PathError} When a local path cannot be read.
 * @throws {S3Error} When S3 fails.
 */
export async function indexBase(base: string): Promise<Uint8Array> {
  if (isS3Url(base)) {
    const { bucket, key } = parseS3Url(base);
    const mkey = joinKey(key, PACKED_MANIFEST);
    const packed = await getObjectBytes(createS3Client(), bucket, mkey);
    if (packed !== null) {
      return await canonicalManifest(packed, `s3://${bucket}/${mkey}`);
    }
    return serializeManifest(
      rowsFromObjects(await listS3Objects(base), base),
    );
  }
  const abs = resolve(base);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(abs);
  } catch (err) {
    throw pathError(err, abs, "read dataset");
  }
  if (st.isFile) return await canonicalManifest(await readLocal(abs), abs);
  const mpath = join(abs, ...PACKED_MANIFEST.split("/"));
  const packed = await Deno.readFile(mpath).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return null;
    throw pathError(err, mpath, "read");
  });
  if (packed !== null) return await canonicalManifest(packed, mpath);
  return serializeManifest(rowsFromObjects(await listLocalFiles(abs), abs));
}

async function readLocal(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw pathError(err, path, "read");
  }
}
