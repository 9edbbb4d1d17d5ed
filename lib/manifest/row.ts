/**
 * The manifest row type (spec §2.2).
 *
 * @module
 */

/** One sample of a manifest. */
export interface ManifestRow {
  /** Sample id; a manifest's ids are exactly `0..N-1`. */
  sampleId: number;
  /** Absolute local path, `s3://bucket/key`, or a path relative to the dataset root. */
  location: string;
  /** Start of the sample's bytes inside `location`; absent = whole object. */
  byteOffset?: number;
  /** Length of the sample's bytes (> 0); present exactly when `byteOffset` is. */
  byteLength?: number;
  /** Decode hint, e.g. `mx8:vision:imagefolder;label_id=3`; absent = none. */
  decodeHint?: string;
}

/** The manifest schema version this code reads and writes. */
export const MANIFEST_SCHEMA_VERSION = 0;

/** The first line of every manifest. */
export const MANIFEST_HEADER = `schema_version=${MANIFEST_SCHEMA_VERSION}`;

const LABEL_HINT_RE = /(?:^|;)label_id=(\d+)(?:;|$)/;

/**
 * Returns the label id of an ImageFolder decode hint, or undefined.
 *
 * @param hint A decode hint such as `mx8:vision:imagefolder;label_id=3`.
 * @returns The label id, if the hint carries one.
 */
export function labelIdOfHint(hint: string | undefined): number | undefined {
  if (!hint) return undefined;
  const m = LABEL_HINT_RE.exec(hint);
  return m ? Number(m[1]) : undefined;
}

/**
 * Builds the ImageFolder decode hint for a label id.
 *
 * @param labelId The label id.
 * @returns `mx8:vision:imagefolder;label_id=<n>`.
 */
export function imageFolderHint(labelId: number): string {
  return `mx8:vision:imagefolder;label_id=${labelId}`;
}
