/**
 * Benchmark helpers: run a child process and sample the RSS of its whole
 * process tree (from /proc) until it exits.
 *
 * @module
 */

/** Sum of VmRSS over a process and all its descendants, in bytes. */
export function treeRssBytes(pid: number): number {
  let total = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      const status = Deno.readTextFileSync(`/proc/${p}/status`);
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) total += Number(m[1]) * 1024;
      for (const t of Deno.readDirSync(`/proc/${p}/task`)) {
        const kids = Deno.readTextFileSync(`/proc/${p}/task/${t.name}/children`)
          .trim();
        for (const k of kids.split(/\s+/)) if (k) stack.push(Number(k));
      }
    } catch {
      // process gone
    }
  }
  return total;
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
  /** Wall time, ms. */
  wallMs: number;
}

/**
 * Runs a command, polling its tree RSS every `pollMs`.
 *
 * @param cmd Executable.
 * @param args Arguments.
 * @param env Extra environment.
 * @param pollMs Poll period.
 * @returns Output, exit code, peak RSS and wall time.
 */
export async function runMeasured(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  pollMs = 25,
): Promise<Measured> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRssBytes(child.pid));
  }, pollMs);
  const out = await child.output();
  clearInterval(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    peakRssBytes: peak,
    wallMs: performance.now() - t0,
  };
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
