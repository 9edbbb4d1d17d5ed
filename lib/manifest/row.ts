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

/** The `label_id=` field of a decode hint, with its value captured. */
const LABEL_FIELD_RE = /(?:^|;)label_id=([^;]*)/;
const LABEL_VALUE_RE = /^(0|[1-9][0-9]{0,9})$/;
/** Label ids fit an `Int32Array` (the loaders' label column). */
const MAX_LABEL_ID = 2 ** 31 - 1;

/**
 * Returns the label id of an ImageFolder decode hint, or undefined when the
 * hint carries none (or a malformed one: see {@linkcode labelIdProblem}).
 *
 * @param hint A decode hint such as `mx8:vision:imagefolder;label_id=3`.
 * @returns The label id, if the hint carries a valid one.
 */
export function labelIdOfHint(hint: string | undefined): number | undefined {
  if (!hint) return undefined;
  const m = LABEL_FIELD_RE.exec(hint);
  if (m === null || !LABEL_VALUE_RE.test(m[1])) return undefined;
  const id = Number(m[1]);
  return id <= MAX_LABEL_ID ? id : undefined;
}

/**
 * Why a decode hint's `label_id=` field is malformed, or `undefined` when
 * the hint has none or a valid one (a decimal integer `0..2^31-1` without
 * leading zeros).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelIdProblem } from "./row.ts";
 * assert.equal(labelIdProblem("mx8:vision:imagefolder;label_id=3"), undefined);
 * assert.match(labelIdProblem("mx8:vision:imagefolder;label_id=-1")!, /-1/);
 * ```
 *
 * @param hint A decode hint.
 * @returns The reason, or undefined.
 */
export function labelIdProblem(hint: string | undefined): string | undefined {
  if (!hint) return undefined;
  const m = LABEL_FIELD_RE.exec(hint);
  if (m === null || labelIdOfHint(hint) !== undefined) return undefined;
  return `decode_hint "${hint}" has label_id "${
    m[1]
  }": expected an integer 0..${MAX_LABEL_ID}`;
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
