/**
 * Reads the machine and cgroup memory limits (the only I/O of autotune).
 *
 * @module
 */

/** Memory limits of the machine and the process's cgroup. */
export interface MachineMemory {
  /** `MemTotal` of `/proc/meminfo`, or the OS total where that is missing. */
  memTotalBytes: number;
  /** The cgroup memory limit; `undefined` when unlimited or unknown. */
  cgroupMaxBytes?: number;
}

const CGROUP_FILES = [
  "/sys/fs/cgroup/memory.max", // cgroup v2
  "/sys/fs/cgroup/memory/memory.limit_in_bytes", // cgroup v1
];

/**
 * Reads `/proc/meminfo` and the cgroup memory limit. Falls back to
 * `Deno.systemMemoryInfo()` when `/proc/meminfo` cannot be read.
 *
 * @returns The machine's memory limits.
 * @throws {Error} If no source of the machine memory is readable.
 *
 * @example Feed the default RSS cap
 * ```ts ignore
 * import { readMachineMemory } from "./machine_memory.ts";
 * import { defaultRssCapBytes } from "./rss_cap.ts";
 *
 * const { memTotalBytes, cgroupMaxBytes } = await readMachineMemory();
 * console.log(defaultRssCapBytes("balanced", memTotalBytes, cgroupMaxBytes));
 * ```
 */
export async function readMachineMemory(): Promise<MachineMemory> {
  let memTotalBytes: number | undefined;
  try {
    memTotalBytes = parseMemTotal(await Deno.readTextFile("/proc/meminfo"));
  } catch {
    // not Linux, or /proc not mounted
  }
  memTotalBytes ??= Deno.systemMemoryInfo().total;
  for (const path of CGROUP_FILES) {
    try {
      const cgroupMaxBytes = parseCgroupMax(await Deno.readTextFile(path));
      return cgroupMaxBytes !== undefined && cgroupMaxBytes < memTotalBytes
        ? { memTotalBytes, cgroupMaxBytes }
        : { memTotalBytes };
    } catch {
      // try the next cgroup version
    }
  }
  return { memTotalBytes };
}

/**
 * Extracts `MemTotal` from the text of `/proc/meminfo`.
 *
 * @param text The file's text.
 * @returns Bytes, or `undefined` if the line is missing.
 *
 * @example Parse a line
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMemTotal } from "./machine_memory.ts";
 *
 * assert.equal(parseMemTotal("MemTotal:  2048 kB\nMemFree: 1 kB\n"), 2097152);
 * ```
 */
export function parseMemTotal(text: string): number | undefined {
  const match = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/**
 * Parses a cgroup memory limit file (`max` means unlimited).
 *
 * @param text The file's text.
 * @returns Bytes, or `undefined` when unlimited or unparsable.
 *
 * @example Limited and unlimited
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCgroupMax } from "./machine_memory.ts";
 *
 * assert.equal(parseCgroupMax("1073741824\n"), 1073741824);
 * assert.equal(parseCgroupMax("max\n"), undefined);
 * ```
 */
export function parseCgroupMax(text: string): number | undefined {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return undefined;
  const bytes = Number(value);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
