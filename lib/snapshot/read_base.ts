/**
 * What a dataset base holds right now: its manifest file (a packed
 * dataset's `_mx8/manifest.tsv`, or a `.tsv` base) with the labels file
 * beside it, read as one consistent pair, or nothing (a folder or prefix to
 * list). Its `validator` says which: a plain link reuses a recorded
 * snapshot only while the base still gives the same validator, so a
 * repacked (`mx8 pack --overwrite`) or half-rewritten dataset is never read
 * through an old manifest.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { Mx8Error, pathError } from "../errors.ts";
import { sha256HexAsync } from "../util/sha256.ts";
import { isS3Url, joinKey, parseS3Url } from "../s3/url.ts";
import { PACKED_LABELS, PACKED_MANIFEST } from "./list_local.ts";
import { createS3Client } from "../s3/client.ts";
import { getObjectTagged, headObject } from "../s3/objects.ts";

/** A base's current content (see the module docs). */
export interface BaseContent {
  /** `manifest`: the base is (or holds) a manifest file; `listing`: index by listing. */
  kind: "manifest" | "listing";
  /** The manifest file's name (for messages); empty for a listing. */
  manifestFile: string;
  /** The manifest as written (empty for a listing). */
  manifest: Uint8Array;
  /** SHA-256 of `manifest` as written (empty for a listing). */
  manifestSha: string;
  /** True when the manifest is a packed dataset's `<root>/_mx8/manifest.tsv`. */
  packed: boolean;
  /** The labels file read with the manifest, or null when there is none. */
  labels: Uint8Array | null;
  /** Where labels are looked for: `<root>/_mx8/labels.tsv`. */
  labelsFile: string;
  /**
   * `listing`, or `manifest sha256:<manifest as written> labels
   * sha256:<labels>|none`: equal validators mean equal content.
   */
  validator: string;
  /**
   * Identity of the manifest file read (see {@linkcode manifestIdentity});
   * empty for a listing.
   */
  identity: string;
}

/** Validator of a base indexed by listing its objects. */
export const LISTING_VALIDATOR = "listing";

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

/** One file's bytes and an identity that changes when it is replaced. */
interface Read {
  bytes: Uint8Array | null;
  identity: string;
}

/** Reads files of one base, local or S3. */
interface Reader {
  read(name: string): Promise<Read>;
  identity(name: string): Promise<string>;
}

function localReader(): Reader {
  const identity = async (path: string) => {
    try {
      const st = await Deno.stat(path);
      return `${st.dev}:${st.ino}:${st.size}:${st.mtime?.getTime()}:${st.ctime?.getTime()}`;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "absent";
      throw pathError(err, path, "stat");
    }
  };
  return {
    identity,
    async read(path) {
      const before = await identity(path);
      if (before === "absent") return { bytes: null, identity: before };
      try {
        return { bytes: await Deno.readFile(path), identity: before };
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          return { bytes: null, identity: "absent" };
        }
        throw pathError(err, path, "read");
      }
    },
  };
}

function s3Reader(bucket: string): Reader {
  const client = createS3Client();
  return {
    async identity(key) {
      const head = await headObject(client, bucket, key);
      return head === null ? "absent" : `etag ${head.etag}`;
    },
    async read(key) {
      const got = await getObjectTagged(client, bucket, key);
      return got === null
        ? { bytes: null, identity: "absent" }
        : { bytes: got.bytes, identity: `etag ${got.etag}` };
    },
  };
}

/** Where a base's manifest and labels are, and how to read them. */
async function locate(base: string) {
  let reader: Reader;
  let manifestName: string;
  let labelsName: string;
  let show: (name: string) => string;
  let isFile = false;
  if (isS3Url(base)) {
    const { bucket, key } = parseS3Url(base);
    reader = s3Reader(bucket);
    manifestName = joinKey(key, PACKED_MANIFEST);
    labelsName = joinKey(key, PACKED_LABELS);
    show = (k) => `s3://${bucket}/${k}`;
  } else {
    reader = localReader();
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(base);
    } catch (err) {
      throw pathError(err, base, "read dataset");
    }
    isFile = st.isFile;
    const root = datasetRoot(base, isFile);
    manifestName = isFile ? base : join(base, ...PACKED_MANIFEST.split("/"));
    labelsName = join(root, ...PACKED_LABELS.split("/"));
    show = (p) => p;
  }
  const packed = !isFile ||
    (basename(dirname(manifestName)) === "_mx8" &&
      basename(manifestName) === "manifest.tsv");
  return { reader, manifestName, labelsName, show, isFile, packed };
}

/**
 * The identity of a base's manifest file now, from one stat (local:
 * `dev:ino:size:mtime:ctime`) or HEAD (S3: the ETag); `absent` when there
 * is none. Equal to {@linkcode BaseContent.identity} while the file holds
 * the bytes `readBase` read.
 *
 * @param base Canonical base.
 * @returns The identity.
 * @throws {PathError} When a local base cannot be read.
 * @throws {S3Error} When S3 fails.
 */
export async function manifestIdentity(base: string): Promise<string> {
  const { reader, manifestName } = await locate(base);
  return await reader.identity(manifestName);
}

/** Reads of a manifest + labels pair tried before giving up. */
const ATTEMPTS = 5;

/**
 * Reads what a base holds now. A manifest and its labels are read as a
 * pair: the manifest is re-checked after the labels are read (a pack
 * replaces labels before the manifest), and the pair is read again when
 * the manifest changed in between.
 *
 * @param base Canonical base: absolute local path or `s3://bucket/prefix`.
 * @returns The content.
 * @throws {Mx8Error} When the base keeps changing while being read.
 * @throws {PathError} When a local file cannot be read.
 * @throws {S3Error} When S3 fails.
 */
export async function readBase(base: string): Promise<BaseContent> {
  const { reader, manifestName, labelsName, show, isFile, packed } =
    await locate(base);
  for (let attempt = 1;; attempt++) {
    const m = await reader.read(manifestName);
    if (m.bytes === null) {
      if (isFile) throw pathError(new Deno.errors.NotFound(), base, "read");
      return {
        kind: "listing",
        manifestFile: "",
        manifest: new Uint8Array(),
        manifestSha: "",
        packed: false,
        labels: null,
        labelsFile: show(labelsName),
        validator: LISTING_VALIDATOR,
        identity: "",
      };
    }
    const labels = (await reader.read(labelsName)).bytes;
    if ((await reader.identity(manifestName)) === m.identity) {
      const manifestSha = await sha256HexAsync(m.bytes);
      const labelsSha = labels
        ? `sha256:${await sha256HexAsync(labels)}`
        : "none";
      return {
        kind: "manifest",
        manifestFile: show(manifestName),
        manifest: m.bytes,
        manifestSha,
        packed,
        labels,
        labelsFile: show(labelsName),
        validator: `manifest sha256:${manifestSha} labels ${labelsSha}`,
        identity: m.identity,
      };
    }
    if (attempt === ATTEMPTS) {
      throw new Mx8Error(
        `${
          show(manifestName)
        } kept changing while it was read (${ATTEMPTS} tries): ` +
          `is a pack writing it? Resolve again once it has finished`,
      );
    }
    await new Promise((r) => setTimeout(r, 50 * attempt));
  }
}
