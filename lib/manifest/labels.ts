/**
 * Labels TSV, schema 1 (spec §2.3): `label_id<TAB>label`, labels
 * percent-encoded except `A-Z a-z 0-9 - _ . ~`, ids `0..K-1` over the label
 * names sorted by bytes.
 *
 * @module
 */
import { ManifestError } from "../errors.ts";
import { withoutCr } from "./tsv.ts";
import { compareUtf8 } from "../util/bytes_order.ts";

/** The first line of every labels file. */
export const LABELS_HEADER = "schema_version=1";

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/**
 * Percent-encodes a label (every UTF-8 byte outside `A-Z a-z 0-9 - _ . ~`).
 *
 * @param label Raw label name.
 * @returns The encoded label.
 */
export function encodeLabel(label: string): string {
  let out = "";
  for (const ch of label) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of new TextEncoder().encode(ch)) {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/**
 * Assigns label ids `0..K-1` to distinct names sorted by UTF-8 bytes.
 *
 * @param names Label names (duplicates are folded).
 * @returns The sorted list; a name's index is its id.
 */
export function assignLabelIds(names: Iterable<string>): string[] {
  return [...new Set(names)].sort(compareUtf8);
}

/**
 * Serializes labels (index = label id) to labels TSV bytes.
 *
 * @param labels Label names in id order.
 * @returns UTF-8 bytes.
 */
export function serializeLabels(labels: readonly string[]): Uint8Array {
  const lines = [
    LABELS_HEADER,
    ...labels.map((l, i) => `${i}\t${encodeLabel(l)}`),
  ];
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

/**
 * Parses labels TSV into names indexed by label id (CRLF line endings read
 * like LF).
 *
 * @param text Labels file text or bytes.
 * @param file Source name for errors.
 * @returns Label names; `result[id]` is the name of `id`.
 * @throws {ManifestError} On a bad header, row, encoding, or non-contiguous ids.
 */
export function parseLabels(text: string | Uint8Array, file: string): string[] {
  const src = typeof text === "string" ? text : new TextDecoder().decode(text);
  const labels: string[] = [];
  let sawHeader = false;
  const lines = src.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = withoutCr(lines[i]);
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (!sawHeader) {
      if (line !== LABELS_HEADER) {
        throw new ManifestError(
          file,
          i + 1,
          `first line must be "${LABELS_HEADER}", found "${line.slice(0, 60)}"`,
        );
      }
      sawHeader = true;
      continue;
    }
    const cols = line.split("\t");
    if (cols.length !== 2) {
      throw new ManifestError(
        file,
        i + 1,
        `expected 2 tab-separated columns (label_id, label)`,
      );
    }
    if (cols[0] !== String(labels.length)) {
      throw new ManifestError(
        file,
        i + 1,
        `label_id "${cols[0]}" out of order: expected ${labels.length}`,
      );
    }
    try {
      labels.push(decodeURIComponent(cols[1]));
    } catch {
      throw new ManifestError(
        file,
        i + 1,
        `label "${cols[1]}" is not valid percent-encoding`,
      );
    }
  }
  if (!sawHeader) {
    throw new ManifestError(
      file,
      0,
      `empty labels file: no "${LABELS_HEADER}"`,
    );
  }
  return labels;
}
