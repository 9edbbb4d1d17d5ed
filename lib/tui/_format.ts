/**
 * Small number and text formatters shared by the TUI renderer and the
 * headless status line.
 *
 * @module
 */

const MIB = 1048576;

/**
 * Formats a byte count in MiB with one decimal below 10 MiB.
 *
 * @param bytes Byte count.
 * @returns e.g. `0.5`, `12`, `256` (MiB, unit not included).
 */
export function mib(bytes: number): string {
  const v = bytes / MIB;
  if (v === 0) return "0";
  return v < 10 ? v.toFixed(1) : String(Math.round(v));
}

/**
 * Formats a `used/cap MiB` pair; a cap of 0 (unknown) prints as `?`.
 *
 * @param used Bytes used.
 * @param cap Byte cap, 0 when unknown.
 * @returns e.g. `12/256M`.
 */
export function usedOfCap(used: number, cap: number): string {
  return `${mib(used)}/${cap > 0 ? mib(cap) : "?"}M`;
}

/**
 * Formats a duration for humans.
 *
 * @param ms Milliseconds.
 * @returns e.g. `850ms`, `12.3s`, `4m05s`, `2h03m`.
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Formats a rate with at most 3 significant digits below 100.
 *
 * @param perSec A rate.
 * @returns e.g. `0.52`, `41.3`, `1234`.
 */
export function rate(perSec: number): string {
  if (perSec >= 100) return String(Math.round(perSec));
  if (perSec >= 10) return perSec.toFixed(1);
  return perSec.toFixed(2);
}

/**
 * Replaces control characters (C0, DEL, C1) so untrusted text (node ids,
 * locations, error messages) cannot move the cursor or restyle the terminal.
 *
 * @param text Any text.
 * @returns The text with each control character replaced by `?` and
 * newlines/tabs by spaces.
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\t\n\r]/g, " ").replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}
