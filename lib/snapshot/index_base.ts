/**
 * Indexing a dataset base into canonical manifest bytes (spec §2.1): its
 * manifest file (a packed dataset's `_mx8/manifest.tsv`, or a `.tsv` base)
 * as read by `readBase`, or one row per object under a local directory or S3
 * prefix (sorted by path, `_mx8/` and `shards/` skipped).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import type { ManifestRow } from "../manifest/row.ts";
import { serializeManifest } from "../manifest/tsv.ts";
import { canonicalManifest } from "../manifest/canonical.ts";
import { createS3Client } from "../s3/client.ts";
import { listObjects } from "../s3/objects.ts";
import { parseS3Url } from "../s3/url.ts";
import { isS3Url } from "../s3/url.ts";
import { compareUtf8 } from "../util/bytes_order.ts";
import { type BaseContent, readBase } from "./read_base.ts";

export {
  type FoundObject,
  isSkippedPath,
  listLocalFiles,
  PACKED_LABELS,
  PACKED_MANIFEST,
  SKIPPED_TOP_DIRS,
} from "./list_local.ts";
import {
  checkName,
  type FoundObject,
  isSkippedPath,
  listLocalFiles,
} from "./list_local.ts";

/**
 * Lists every object under an S3 prefix (as a folder), sorted by key bytes,
 * skipping folder markers and `_mx8/` / `shards/` below the prefix.
 *
 * @param base `s3://bucket/prefix`.
 * @returns Objects with sizes, paths relative to the prefix.
 * @throws {PathError} When a key holds a tab, LF or CR.
 */
export async function listS3Objects(base: string): Promise<FoundObject[]> {
  const { bucket, key } = parseS3Url(base);
  const prefix = key === "" || key.endsWith("/") ? key : key + "/";
  const out: FoundObject[] = [];
  for await (const o of listObjects(createS3Client(), bucket, prefix)) {
    const rel = o.key.slice(prefix.length);
    if (rel === "" || rel.endsWith("/") || isSkippedPath(rel)) continue;
    checkName(`s3://${bucket}/${o.key}`, rel);
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

const LABEL_FIELD = new TextEncoder().encode("label_id=");

/** Whether `bytes` contain `label_id=` (any row with a label id). */
function mentionsLabelIds(bytes: Uint8Array): boolean {
  const first = LABEL_FIELD[0];
  for (let i = bytes.indexOf(first); i >= 0; i = bytes.indexOf(first, i + 1)) {
    let j = 1;
    while (j < LABEL_FIELD.length && bytes[i + j] === LABEL_FIELD[j]) j++;
    if (j === LABEL_FIELD.length) return true;
  }
  return false;
}

/**
 * Canonical manifest bytes of a base's content: its manifest file
 * canonicalized as a stream (`canonicalManifest`: no row array; the bytes
 * themselves when they are canonical already), or a listing, one row per
 * object. A packed dataset whose rows carry label ids must have its
 * `labels.tsv` (pack always writes one): without it the class names are
 * unknown.
 *
 * @param base Canonical base: absolute local directory or `.tsv` file, or `s3://bucket/prefix`.
 * @param content What `readBase(base)` gave.
 * @returns Canonical manifest bytes.
 * @throws {ManifestError} When the manifest is malformed.
 * @throws {Mx8Error} When a packed dataset's labels file is missing.
 * @throws {PathError} When a local path cannot be read or a name cannot be a location.
 * @throws {S3Error} When S3 fails.
 */
export async function indexContent(
  base: string,
  content: BaseContent,
): Promise<Uint8Array> {
  if (content.kind === "manifest") {
    if (
      content.packed && content.labels === null &&
      mentionsLabelIds(content.manifest)
    ) {
      throw new Mx8Error(
        `${content.labelsFile} is missing, but ${content.manifestFile} labels its samples ` +
          `(label_id=…): restore it, or repack the dataset (mx8 pack --overwrite)`,
      );
    }
    return await canonicalManifest(content.manifest, content.manifestFile);
  }
  const objects = isS3Url(base)
    ? await listS3Objects(base)
    : await listLocalFiles(base);
  return serializeManifest(rowsFromObjects(objects, base));
}

/**
 * Indexes a dataset base into canonical manifest bytes (`readBase` then
 * {@linkcode indexContent}).
 *
 * @param base Absolute local directory or `.tsv` file, or `s3://bucket/prefix`.
 * @returns Canonical manifest bytes.
 * @throws {ManifestError} When an existing manifest is malformed.
 * @throws {PathError} When a local path cannot be read.
 * @throws {S3Error} When S3 fails.
 */
export async function indexBase(base: string): Promise<Uint8Array> {
  return await indexContent(base, await readBase(base));
}
