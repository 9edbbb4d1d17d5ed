/**
 * Manifest TSV codec, schema 0 (spec §2.2): parse with file:line errors,
 * serialize canonically, and hash the canonical bytes.
 *
 * @module
 */
import { ManifestError } from "../errors.ts";
import { sha256Hex } from "../util/sha256.ts";
import { labelIdProblem, MANIFEST_HEADER, type ManifestRow } from "./row.ts";

const UINT_RE = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a non-negative decimal integer column.
 *
 * @param text Column text.
 * @param what Column name, for the error message.
 * @param file Source name.
 * @param line 1-based line number.
 * @returns The integer.
 * @throws {ManifestError} When the text is not a safe non-negative integer.
 */
function parseUint(
  text: string,
  what: string,
  file: string,
  line: number,
): number {
  if (!UINT_RE.test(text)) {
    throw new ManifestError(
      file,
      line,
      `${what} "${text}" is not a non-negative integer`,
    );
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new ManifestError(file, line, `${what} ${text} is too large`);
  }
  return n;
}

/**
 * Returns true for lines readers skip: blank lines and `#` comments.
 *
 * @param line A line without its terminator.
 * @returns Whether to skip it.
 */
export function isSkippableLine(line: string): boolean {
  return line.trim() === "" || line.startsWith("#");
}

/**
 * Returns a line without one trailing CR: manifests and labels files written
 * with CRLF line endings read like LF ones (the canonical form, and so the
 * hash, is LF).
 *
 * @param line A line without its LF.
 * @returns The line without a trailing CR.
 */
export function withoutCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * Why a location cannot be written in a manifest row, or `undefined` when
 * it can: it must be non-empty and hold no tab, LF or CR (the row's
 * separators), else the manifest would not parse back.
 *
 * @param location A sample location.
 * @returns The reason, or undefined.
 */
export function locationProblem(location: string): string | undefined {
  if (location === "") return "location is empty";
  const m = /[\t\n\r]/.exec(location);
  if (m === null) return undefined;
  const what = m[0] === "\t" ? "a tab" : m[0] === "\n" ? "a newline" : "a CR";
  return `location ${
    JSON.stringify(location)
  } holds ${what}, which a manifest row cannot carry`;
}

/**
 * Parses one data row of a manifest.
 *
 * @param text The line without its LF (one trailing CR is ignored).
 * @param file Source name for errors.
 * @param line 1-based line number for errors.
 * @returns The row.
 * @throws {ManifestError} On any malformed column.
 */
export function parseManifestRow(
  text: string,
  file: string,
  line: number,
): ManifestRow {
  const body = withoutCr(text);
  if (body.includes("\r")) {
    throw new ManifestError(
      file,
      line,
      "a CR inside a row (only a CRLF line ending is allowed)",
    );
  }
  const cols = body.split("\t");
  if (cols.length !== 5) {
    throw new ManifestError(
      file,
      line,
      `expected 5 tab-separated columns (sample_id, location, byte_offset, byte_length, decode_hint), found ${cols.length}`,
    );
  }
  const [idText, location, offText, lenText, hint] = cols;
  const row: ManifestRow = {
    sampleId: parseUint(idText, "sample_id", file, line),
    location,
  };
  const bad = locationProblem(location);
  if (bad !== undefined) throw new ManifestError(file, line, bad);
  if ((offText === "") !== (lenText === "")) {
    throw new ManifestError(
      file,
      line,
      "byte_offset and byte_length must both be present or both be empty",
    );
  }
  if (offText !== "") {
    row.byteOffset = parseUint(offText, "byte_offset", file, line);
    row.byteLength = parseUint(lenText, "byte_length", file, line);
    if (row.byteLength === 0) {
      throw new ManifestError(file, line, "byte_length must be > 0");
    }
  }
  if (hint !== "") {
    const badLabel = labelIdProblem(hint);
    if (badLabel !== undefined) throw new ManifestError(file, line, badLabel);
    row.decodeHint = hint;
  }
  return row;
}

/**
 * Checks the header line of a manifest.
 *
 * @param line0 The first non-skippable line (one trailing CR is ignored).
 * @param file Source name.
 * @param line 1-based line number.
 * @throws {ManifestError} When it is not `schema_version=0`.
 */
export function checkManifestHeader(
  line0: string,
  file: string,
  line: number,
): void {
  const text = withoutCr(line0);
  if (text !== MANIFEST_HEADER) {
    const m = /^schema_version=(.*)$/.exec(text);
    throw new ManifestError(
      file,
      line,
      m
        ? `unsupported schema_version ${
          m[1]
        }: this mx8 reads ${MANIFEST_HEADER}`
        : `first line must be "${MANIFEST_HEADER}", found "${
          text.slice(0, 60)
        }"`,
    );
  }
}

/**
 * Parses a whole manifest. Rows may come in any order; ids must be exactly
 * `0..N-1` (duplicates and gaps are errors). Returns rows sorted by id.
 *
 * @example Parse and hash a manifest
 * ```ts
 * import { parseManifest, manifestHash, serializeManifest } from "./tsv.ts";
 * const rows = parseManifest("schema_version=0\n0\ta.jpg\t\t\t\n", "m.tsv");
 * console.assert(manifestHash(serializeManifest(rows)).length === 64);
 * ```
 *
 * @param text Manifest text (or UTF-8 bytes).
 * @param file Source name for errors.
 * @returns Rows sorted by sample id.
 * @throws {ManifestError} On malformed rows, duplicate or missing ids.
 */
export function parseManifest(
  text: string | Uint8Array,
  file: string,
): ManifestRow[] {
  const src = typeof text === "string" ? text : new TextDecoder().decode(text);
  const lines = src.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const rows: ManifestRow[] = [];
  const lineOf: number[] = [];
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (isSkippableLine(text)) continue;
    if (!sawHeader) {
      checkManifestHeader(text, file, i + 1);
      sawHeader = true;
      continue;
    }
    rows.push(parseManifestRow(text, file, i + 1));
    lineOf.push(i + 1);
  }
  if (!sawHeader) {
    throw new ManifestError(
      file,
      0,
      `empty manifest: no "${MANIFEST_HEADER}" header line`,
    );
  }
  return checkIds(rows, lineOf, file);
}

function checkIds(
  rows: ManifestRow[],
  lineOf: number[],
  file: string,
): ManifestRow[] {
  const n = rows.length;
  const at = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const id = rows[i].sampleId;
    if (id >= n) {
      throw new ManifestError(
        file,
        lineOf[i],
        `sample_id ${id} is out of range: a manifest with ${n} rows has ids 0..${
          n - 1
        }`,
      );
    }
    if (at[id] >= 0) {
      throw new ManifestError(
        file,
        lineOf[i],
        `duplicate sample_id ${id} (first on line ${lineOf[at[id]]})`,
      );
    }
    at[id] = i;
  }
  // n rows, every id < n and no duplicate: the ids are exactly 0..n-1.
  const sorted = new Array<ManifestRow>(n);
  for (let id = 0; id < n; id++) sorted[id] = rows[at[id]];
  return sorted;
}

/**
 * Serializes one row as its canonical TSV line (with LF).
 *
 * @param row The row.
 * @returns The line.
 */
export function formatManifestRow(row: ManifestRow): string {
  const off = row.byteOffset === undefined ? "" : String(row.byteOffset);
  const len = row.byteLength === undefined ? "" : String(row.byteLength);
  return `${row.sampleId}\t${row.location}\t${off}\t${len}\t${
    row.decodeHint ?? ""
  }\n`;
}

/**
 * Serializes rows (sorted by id) to canonical manifest bytes, header
 * included. Never writes what would not parse back.
 *
 * @param rows Rows with ids `0..N-1` in order.
 * @returns Canonical UTF-8 bytes.
 * @throws {ManifestError} When a location holds a tab, LF or CR, or is empty.
 */
export function serializeManifest(rows: readonly ManifestRow[]): Uint8Array {
  const parts: string[] = [MANIFEST_HEADER + "\n"];
  for (const row of rows) {
    const bad = locationProblem(row.location);
    if (bad !== undefined) {
      throw new ManifestError(
        "manifest being written",
        0,
        `sample ${row.sampleId}: ${bad} (rename it)`,
      );
    }
    parts.push(formatManifestRow(row));
  }
  return new TextEncoder().encode(parts.join(""));
}

/**
 * The manifest hash: lowercase hex SHA-256 of canonical bytes.
 *
 * @param canonical Bytes from {@linkcode serializeManifest}.
 * @returns 64 lowercase hex digits.
 */
export function manifestHash(canonical: Uint8Array): string {
  return sha256Hex(canonical);
}
