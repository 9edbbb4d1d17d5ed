/**
 * Benchmark helpers: run a child process and sample the RSS of its whole
 * process tree (from /proc) until it exits.
 *
 * @module
 */

/** A process and all its descendants (that are still there). */
export function treePids(pid: number): number[] {
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      for (const t of Deno.readDirSync(`/proc/${p}/task`)) {
        const kids = Deno.readTextFileSync(`/proc/${p}/task/${t.name}/children`)
          .trim();
        for (const k of kids.split(/\s+/)) if (k) stack.push(Number(k));
      }
    } catch {
      // process gone
    }
  }
  return [...seen];
}

function sumField(pids: number[], file: string, field: RegExp): number {
  let total = 0;
  for (const p of pids) {
    try {
      const m = field.exec(Deno.readTextFileSync(`/proc/${p}/${file}`));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // process gone
    }
  }
  return total;
}

/** Sum of VmRSS over a process and all its descendants, in bytes. */
export function treeRssBytes(pid: number): number {
  return sumField(treePids(pid), "status", /VmRSS:\s+(\d+) kB/);
}

/**
 * Sum of PSS (proportional set size) over a process tree, in bytes: pages
 * shared by several processes of the tree (a shared mapping, fork
 * copy-on-write pages) count once in total, not once per process as in RSS.
 */
export function treePssBytes(pid: number): number {
  return sumField(treePids(pid), "smaps_rollup", /\nPss:\s+(\d+) kB/);
}

/** Result of {@linkcode runMeasured}. */
export interface Measured {
  /** Exit code. */
  code: number;
  /** Captured stdout. */
  stdout: string;
  /** Captured stderr. */
  stderr: string;
  /** Peak tree RSS seen, bytes. */
  peakRssBytes: number;
  /** Peak tree PSS seen, bytes (when `pss` was asked for; else 0). */
  peakPssBytes: number;
  /** Wall time, ms. */
  wallMs: number;
}

/**
 * Runs a command, polling its tree RSS every `pollMs`.
 *
 * @param cmd Executable.
 * @param args Arguments.
 * @param env Extra environment.
 * @param pollMs Poll period; 0 runs the command without sampling (peaks
 * stay 0). A sample is not free: reading `smaps_rollup` walks the target's
 * page tables, 10–20 ms of CPU for a Deno or torch process (the poller's
 * CPU, taken from the measured tree on a small machine), so time a run
 * unsampled when its speed matters.
 * @param pss Also sample the tree's PSS (costs a page-table walk per poll).
 * @returns Output, exit code, peak RSS (and PSS) and wall time.
 */
export async function runMeasured(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  pollMs = 25,
  pss = false,
): Promise<Measured> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let peakPss = 0;
  const timer = pollMs <= 0 ? undefined : setInterval(() => {
    const pids = treePids(child.pid);
    peak = Math.max(peak, sumField(pids, "status", /VmRSS:\s+(\d+) kB/));
    if (pss) {
      peakPss = Math.max(
        peakPss,
        sumField(pids, "smaps_rollup", /\nPss:\s+(\d+) kB/),
      );
    }
  }, pollMs);
  const out = await child.output();
  clearInterval(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    peakRssBytes: peak,
    peakPssBytes: peakPss,
    wallMs: performance.now() - t0,
  };
}

/**
 * CPU seconds (user + system, all threads) this process has used so far,
 * from `/proc/self/stat` (clock ticks of 10 ms).
 */
export function selfCpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15)
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
