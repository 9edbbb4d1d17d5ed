/**
 * The default process RSS cap derived from the memory limit (spec §5, §7).
 *
 * @module
 */

import {
  type AutotuneProfile,
  autotuneProfile,
  type AutotuneProfileName,
} from "./profiles.ts";

/**
 * The default RSS cap: `floor(fraction × min(memTotal, cgroupMax))`, where
 * `fraction` is the profile's RSS cap fraction and a missing, zero or
 * non-finite cgroup limit means "no cgroup limit".
 *
 * @param profile A profile or its name.
 * @param memTotalBytes Machine memory (`MemTotal` of `/proc/meminfo`).
 * @param cgroupMaxBytes The cgroup memory limit, if any.
 * @returns The cap in bytes.
 * @throws {RangeError} If `memTotalBytes` is not positive or the profile is unknown.
 *
 * @example A cgroup limit below the machine memory wins
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRssCapBytes } from "./rss_cap.ts";
 *
 * assert.equal(defaultRssCapBytes("balanced", 16e9, 4e9), 3e9);
 * assert.equal(defaultRssCapBytes("safe", 10e9), 6e9);
 * ```
 */
export function defaultRssCapBytes(
  profile: AutotuneProfile | AutotuneProfileName,
  memTotalBytes: number,
  cgroupMaxBytes?: number,
): number {
  const { rssCapFraction } = typeof profile === "string"
    ? autotuneProfile(profile)
    : profile;
  if (!Number.isFinite(memTotalBytes) || memTotalBytes <= 0) {
    throw new RangeError(
      `Machine memory must be a positive number of bytes: ${memTotalBytes}`,
    );
  }
  const hasCgroup = cgroupMaxBytes !== undefined &&
    Number.isFinite(cgroupMaxBytes) && cgroupMaxBytes > 0;
  const limit = hasCgroup
    ? Math.min(memTotalBytes, cgroupMaxBytes)
    : memTotalBytes;
  return Math.floor(rssCapFraction * limit);
}
