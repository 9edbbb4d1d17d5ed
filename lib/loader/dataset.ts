/**
 * Opening a dataset for reading: resolve the link, parse the pinned
 * manifest, find the root that relative locations hang from, and the labels.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { Mx8Error } from "../errors.ts";
import { assignLabelIds, parseLabels } from "../manifest/labels.ts";
import { labelIdOfHint, type ManifestRow } from "../manifest/row.ts";
import { parseManifest } from "../manifest/tsv.ts";
import { createS3Client } from "../s3/client.ts";
import { getObjectBytes } from "../s3/objects.ts";
import { isS3Url, joinKey, parseS3Url } from "../s3/url.ts";
import { PACKED_LABELS } from "../snapshot/list_local.ts";
import { resolveDataset, type ResolvedSnapshot } from "../snapshot/resolve.ts";
import type { ManifestStore } from "../store/store.ts";

/** An opened dataset. */
export interface Dataset {
  /** The pinned snapshot. */
  snapshot: ResolvedSnapshot;
  /** Root that relative locations resolve against. */
  root: string;
  /** Manifest rows, index = sample id. */
  rows: ManifestRow[];
  /** Class names; `classes[labelId]`. Empty when the dataset has no labels. */
  classes: string[];
  /** Label id per sample id (`-1` = no label). */
  labelIds: Int32Array;
}

/**
 * The root that a dataset's relative locations hang from: the base itself for
 * folders and prefixes; for a `.tsv` base its folder, or the folder above
 * `_mx8/` for a packed dataset's own manifest.
 *
 * @param base Canonical base.
 * @param isFile Whether the base is a manifest file.
 * @returns The root.
 */
export function datasetRoot(base: string, isFile: boolean): string {
  if (!isFile) return base;
  const dir = dirname(base);
  return basename(dir) === "_mx8" ? dirname(dir) : dir;
}

async function readOptional(
  root: string,
  rel: string,
): Promise<Uint8Array | null> {
  if (isS3Url(root)) {
    const { bucket, key } = parseS3Url(root);
    return await getObjectBytes(createS3Client(), bucket, joinKey(key, rel));
  }
  try {
    return await Deno.readFile(`${root}/${rel}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Opens a dataset link.
 *
 * @param link Dataset link.
 * @param store Manifest store (default store when omitted).
 * @returns The dataset.
 */
export async function openDataset(
  link: string,
  store?: ManifestStore,
): Promise<Dataset> {
  const snapshot = await resolveDataset(link, { store });
  const rows = parseManifest(
    snapshot.manifestBytes,
    `manifest sha256:${snapshot.manifestHash}`,
  );
  let isFile = false;
  if (!isS3Url(snapshot.base)) {
    isFile = (await Deno.stat(snapshot.base).catch(() => null))?.isFile ??
      false;
  }
  const root = datasetRoot(snapshot.base, isFile);
  const labelIds = new Int32Array(rows.length).fill(-1);
  let classes: string[] = [];
  const hinted = rows.length > 0 &&
    rows.every((r) => labelIdOfHint(r.decodeHint) !== undefined);
  if (hinted) {
    const labelsBytes = await readOptional(root, PACKED_LABELS);
    rows.forEach((r, i) => labelIds[i] = labelIdOfHint(r.decodeHint)!);
    const maxId = labelIds.reduce((m, v) => Math.max(m, v), -1);
    classes = labelsBytes
      ? parseLabels(labelsBytes, `${root}/${PACKED_LABELS}`)
      : Array.from({ length: maxId + 1 }, (_, i) => String(i));
    if (maxId >= classes.length) {
      throw new Mx8Error(
        `${root}/${PACKED_LABELS} has ${classes.length} labels but the manifest uses label_id ${maxId}: repack the dataset`,
      );
    }
  } else {
    // Unpacked ImageFolder layout: <class>/<file> relative locations, ≥ 2 classes.
    const dirs = rows.map((r) => {
      const parts = r.location.split("/");
      return parts.length === 2 && !isS3Url(r.location) &&
          !r.location.startsWith("/")
        ? parts[0]
        : null;
    });
    if (dirs.every((d) => d !== null) && new Set(dirs).size >= 2) {
      classes = assignLabelIds(dirs as string[]);
      const idOf = new Map(classes.map((c, i) => [c, i]));
      dirs.forEach((d, i) => labelIds[i] = idOf.get(d!)!);
    }
  }
  return { snapshot, root, rows, classes, labelIds };
}
