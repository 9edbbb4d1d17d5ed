/**
 * One-line text of pack progress, for terminals.
 *
 * @module
 */
import type { PackProgress } from "./pack.ts";

const MB = 1e6;

/**
 * Formats seconds as `M:SS` or `H:MM:SS`.
 *
 * @param seconds Non-negative seconds.
 * @returns The text.
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * Formats pack progress: files done/total, MB done/total, MB/s and ETA.
 *
 * @example A progress line
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProgress } from "./progress.ts";
 * const line = formatProgress({
 *   filesDone: 50, filesTotal: 100, bytesDone: 50e6, bytesTotal: 100e6,
 *   shardsDone: 0, elapsedMs: 2000,
 * });
 * assert.equal(line, "pack 50/100 files  50.0/100.0 MB  25.0 MB/s  ETA 0:02");
 * ```
 *
 * @param p Progress from `pack`'s `onProgress`.
 * @returns The line (no newline).
 */
export function formatProgress(p: PackProgress): string {
  const secs = p.elapsedMs / 1000;
  const rate = secs > 0 ? p.bytesDone / secs : 0;
  const eta = rate > 0
    ? formatDuration((p.bytesTotal - p.bytesDone) / rate)
    : "?";
  return `pack ${p.filesDone}/${p.filesTotal} files  ` +
    `${(p.bytesDone / MB).toFixed(1)}/${(p.bytesTotal / MB).toFixed(1)} MB  ` +
    `${(rate / MB).toFixed(1)} MB/s  ETA ${eta}`;
}
