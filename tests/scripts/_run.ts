/**
 * Test helper: runs an operator script (`scripts/*.sh`) with bash, a private
 * `TMPDIR` (so the test can check that the script removed everything it
 * made) and extra environment.
 *
 * @module
 */

/** Absolute path of the repository root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname
  .replace(/\/$/, "");

/**
 * Small demo2 values that land the kill in the middle of the first lease
 * (a 100-sample lease takes ≥ 500 ms at 5 ms/sample; the kill comes 250 ms
 * after it was granted).
 */
export const SMALL_DEMO2: Record<string, string> = {
  MX8_TOTAL_SAMPLES: "600",
  MX8_BLOCK_SIZE: "100",
  MX8_SINK_SLEEP_MS: "5",
  MX8_KILL_AFTER_MS: "250",
  MX8_BATCH_SIZE: "10",
  MX8_LEASE_TTL_MS: "1000",
  MX8_HEARTBEAT_MS: "200",
};

/** Result of one script run. */
export interface ScriptResult {
  /** Exit code. */
  code: number;
  /** Stdout text. */
  stdout: string;
  /** Stderr text. */
  stderr: string;
  /** Wall time in seconds. */
  seconds: number;
  /** Entries left in the private TMPDIR after the run. */
  leftovers: string[];
}

/**
 * Runs `bash scripts/<name> …args` from the repository root.
 *
 * @param name Script file name under `scripts/`.
 * @param env Extra environment.
 * @param args Script arguments.
 * @returns Exit code, output, duration and TMPDIR leftovers.
 */
export async function runScript(
  name: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<ScriptResult> {
  const tmp = await Deno.makeTempDir({ prefix: "mx8-script-test-" });
  try {
    const t0 = performance.now();
    const out = await new Deno.Command("bash", {
      args: [`${ROOT}/scripts/${name}`, ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1", TMPDIR: tmp, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    const leftovers: string[] = [];
    for await (const e of Deno.readDir(tmp)) leftovers.push(e.name);
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      seconds,
      leftovers,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Last non-empty line of a text.
 *
 * @param text Output.
 * @returns Its last line.
 */
export function lastLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines[lines.length - 1] ?? "";
}

/**
 * A failure message with the output of a run.
 *
 * @param r The run.
 * @returns Stdout and stderr, labelled.
 */
export function show(r: ScriptResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
