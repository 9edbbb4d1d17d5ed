/**
 * The shape of an `mx8` subcommand and the shared runner that turns errors
 * into one-line messages and exit codes (1: failed, 2: usage).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** An `mx8` subcommand. */
export interface Command {
  /** Subcommand name. */
  name: string;
  /** One-line summary for `mx8 --help`. */
  summary: string;
  /** Full `--help` text. */
  help: string;
  /** Runs the command on its arguments; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Wrong flags or arguments: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses an integer flag value.
 *
 * @param name Flag name without `--`.
 * @param v The flag's text, if given.
 * @param dflt Value when the flag is absent.
 * @param min Smallest accepted value.
 * @param max Largest accepted value (default: the largest safe integer).
 * @returns The value.
 * @throws {UsageError} When the text is not an integer in `min..max`.
 */
export function intFlag(
  name: string,
  v: string | undefined,
  dflt: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      max === Number.MAX_SAFE_INTEGER
        ? `--${name} must be an integer ≥ ${min}, got "${v}"`
        : `--${name} must be an integer in ${min}..${max}, got "${v}"`,
    );
  }
  return n;
}

/**
 * Runs a command, printing any error on one line of stderr.
 *
 * @param cmd The command.
 * @param args Its arguments.
 * @returns The exit code.
 */
export async function runCommand(
  cmd: Command,
  args: string[],
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(args);
  } catch (err) {
    const debug = Deno.env.get("MX8_DEBUG") === "1";
    if (err instanceof UsageError || isParseArgsError(err)) {
      console.error(
        `mx8 ${cmd.name}: ${
          (err as Error).message
        } (see mx8 ${cmd.name} --help)`,
      );
      return 2;
    }
    if (err instanceof Mx8Error) {
      console.error(`mx8 ${cmd.name}: error: ${err.message}`);
      if (debug) console.error(err.stack);
      return 1;
    }
    const msg = err instanceof Error ? err.message : String(err);
    console.error(
      `mx8 ${cmd.name}: internal error: ${msg} (rerun with MX8_DEBUG=1 for a stack trace and report it)`,
    );
    if (debug && err instanceof Error) console.error(err.stack);
    return 1;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
