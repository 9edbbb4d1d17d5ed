/**
 * Test helper: runs `main.ts` as a real `mx8` process through `deno run`.
 *
 * @module
 */

/** Absolute path of the repository's `main.ts`. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

/** The result of one `mx8` run. */
export interface Mx8Result {
  /** Exit code. */
  code: number;
  /** Captured stdout text. */
  stdout: string;
  /** Captured stderr text. */
  stderr: string;
}

/**
 * Returns the `deno run` argument list for `mx8 …args`.
 *
 * @param args mx8 arguments.
 * @returns Arguments for the deno executable.
 */
export function mx8Args(args: string[]): string[] {
  return ["run", "-A", "--unsafe-proto", "--quiet", MAIN_TS, ...args];
}

/**
 * Runs `mx8 …args` to completion.
 *
 * @param args mx8 arguments.
 * @param env Extra environment variables.
 * @returns Exit code and output.
 */
export async function runMx8(
  args: string[],
  env: Record<string, string> = {},
): Promise<Mx8Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: mx8Args(args),
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/**
 * Returns the last non-empty line of a text.
 *
 * @param text Output text.
 * @returns Its last line.
 */
export function lastLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines[lines.length - 1] ?? "";
}
