/**
 * Opening a dataset for reading: resolve the link, parse the pinned
 * manifest, find the root that relative locations hang from, and the labels.
 *
 * @module
 */
import { ManifestError, Mx8Error } from "../errors.ts";
import { assignLabelIds, parseLabels } from "../manifest/labels.ts";
import { labelIdOfHint, type ManifestRow } from "../manifest/row.ts";
import { manifestRowsOf } from "../manifest/stream.ts";
import { parseManifest } from "../manifest/tsv.ts";
import { createS3Client } from "../s3/client.ts";
import { getObjectBytes } from "../s3/objects.ts";
import { isS3Url, joinKey, parseS3Url } from "../s3/url.ts";
import { PACKED_LABELS, PACKED_MANIFEST } from "../snapshot/list_local.ts";
import { datasetRoot } from "../snapshot/read_base.ts";
import { resolveDataset, type ResolvedSnapshot } from "../snapshot/resolve.ts";
import type { ManifestStore } from "../manifest_store/store.ts";

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

export { datasetRoot };

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

/** What a coordinator needs of a dataset: no rows. */
export interface DatasetSummary {
  /** The pinned snapshot. */
  snapshot: ResolvedSnapshot;
  /** Root that relative locations resolve against. */
  root: string;
  /** Class names; `classes[labelId]`. Empty when the dataset has no labels. */
  classes: string[];
}

/**
 * Label facts gathered row by row. Labels come from the rows' hints when
 * any row carries a label id, and then every row must carry one; else from
 * `<class>/<file>` folders.
 */
class LabelScan {
  rows = 0;
  hinted = true;
  maxHintId = -1;
  /** `<class>/<file>` folder of each row so far, while every row has one. */
  dirs: (string | null)[] | undefined;
  #dirNames: Set<string> | undefined = new Set();
  #file: string;
  /** The first row with a label id, and the first without one. */
  #labelled: ManifestRow | undefined;
  #unlabelled: ManifestRow | undefined;

  constructor(keepDirs: boolean, file: string) {
    if (keepDirs) this.dirs = [];
    this.#file = file;
  }

  add(row: ManifestRow): void {
    this.rows++;
    const id = labelIdOfHint(row.decodeHint);
    if (id === undefined) {
      this.hinted = false;
      this.#unlabelled ??= row;
    } else {
      this.#labelled ??= row;
      if (id > this.maxHintId) this.maxHintId = id;
    }
    if (this.#labelled && this.#unlabelled) {
      const bad = this.#unlabelled;
      // Canonical manifests hold sample i on line i + 2.
      throw new ManifestError(
        this.#file,
        bad.sampleId + 2,
        `sample ${bad.sampleId} (${bad.location}) has ` +
          `no label_id in its decode_hint "${
            bad.decodeHint ?? ""
          }" but sample ` +
          `${this.#labelled.sampleId} has one ("${this.#labelled.decodeHint}"): in a ` +
          `labelled dataset every sample needs mx8:vision:imagefolder;label_id=<n> ` +
          `(fix the row, or repack the dataset)`,
      );
    }
    const dir = this.#dirNames && folderOf(row.location);
    if (dir) this.#dirNames!.add(dir);
    else this.#dirNames = undefined;
    this.dirs?.push(dir ?? null);
  }

  /** Folder classes when every row is `<class>/<file>` and there are ≥ 2. */
  get folderClasses(): string[] {
    return this.#dirNames && this.#dirNames.size >= 2
      ? assignLabelIds(this.#dirNames)
      : [];
  }
}

function folderOf(location: string): string | null {
  const parts = location.split("/");
  return parts.length === 2 && !isS3Url(location) && !location.startsWith("/")
    ? parts[0]
    : null;
}

async function rootOf(snapshot: ResolvedSnapshot): Promise<string> {
  let isFile = false;
  if (!isS3Url(snapshot.base)) {
    isFile = (await Deno.stat(snapshot.base).catch(() => null))?.isFile ??
      false;
  }
  return datasetRoot(snapshot.base, isFile);
}

/**
 * Classes from the hints (with the labels pinned with the manifest, else
 * `labels.tsv` as it is now) or from the folders. Hinted rows of a packed
 * dataset without its labels file are an error naming the file; a `.tsv`
 * manifest without one gets the names `"0".."K-1"`.
 */
async function classesOf(
  snapshot: ResolvedSnapshot,
  root: string,
  scan: LabelScan,
): Promise<string[]> {
  if (!(scan.rows > 0 && scan.hinted)) return scan.folderClasses;
  let labelsBytes = snapshot.labels;
  let labelsFile = snapshot.labelsFile;
  if (labelsBytes === undefined) {
    labelsBytes = await readOptional(root, PACKED_LABELS);
    labelsFile = `${root}/${PACKED_LABELS}`;
    if (
      labelsBytes === null &&
      (await readOptional(root, PACKED_MANIFEST)) !== null
    ) {
      throw new Mx8Error(
        `${labelsFile} is missing, but the manifest labels its samples (label_id=…): ` +
          `restore it, or repack the dataset (mx8 pack --overwrite)`,
      );
    }
  }
  const classes = labelsBytes
    ? parseLabels(labelsBytes, labelsFile)
    : Array.from({ length: scan.maxHintId + 1 }, (_, i) => String(i));
  if (scan.maxHintId >= classes.length) {
    throw new Mx8Error(
      `${labelsFile} has ${classes.length} labels but the manifest uses label_id ${scan.maxHintId}: repack the dataset`,
    );
  }
  return classes;
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
  const file = `manifest sha256:${snapshot.manifestHash}`;
  const rows = parseManifest(snapshot.manifestBytes, file);
  const root = await rootOf(snapshot);
  const scan = new LabelScan(true, file);
  for (const r of rows) scan.add(r);
  const classes = await classesOf(snapshot, root, scan);
  const labelIds = new Int32Array(rows.length).fill(-1);
  if (scan.rows > 0 && scan.hinted) {
    rows.forEach((r, i) => labelIds[i] = labelIdOfHint(r.decodeHint)!);
  } else if (classes.length > 0) {
    const idOf = new Map(classes.map((c, i) => [c, i]));
    scan.dirs!.forEach((d, i) => labelIds[i] = idOf.get(d!)!);
  }
  return { snapshot, root, rows, classes, labelIds };
}

/**
 * Opens a dataset link for a coordinator: the pinned snapshot, root and
 * classes, with the manifest checked row by row but never held as rows
 * (a 1M-row manifest would otherwise cost hundreds of MB of objects that
 * the garbage collector keeps walking).
 *
 * @param link Dataset link.
 * @param store Manifest store (default store when omitted).
 * @returns Snapshot, root and classes.
 * @throws {ManifestError} On a malformed manifest.
 */
export async function openDatasetSummary(
  link: string,
  store?: ManifestStore,
): Promise<DatasetSummary> {
  const snapshot = await resolveDataset(link, { store });
  const file = `manifest sha256:${snapshot.manifestHash}`;
  const scan = new LabelScan(false, file);
  for await (const row of manifestRowsOf(snapshot.manifestBytes, file)) {
    scan.add(row);
  }
  const root = await rootOf(snapshot);
  return { snapshot, root, classes: await classesOf(snapshot, root, scan) };
}
