/**
 * The `mx8` command-line dispatcher.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import { type Command, runCommand } from "./command.ts";
import { packCommand } from "./pack.ts";
import { agentCommand } from "./agent.ts";
import { coordinatorCommand } from "./coordinator.ts";
import { resolveCommand } from "./resolve.ts";
import { demoCommand } from "./demo.ts";
import { tuiCommand } from "./tui.ts";

/** Every subcommand, in `--help` order. */
export const COMMANDS: readonly Command[] = [
  coordinatorCommand,
  agentCommand,
  packCommand,
  tuiCommand,
  resolveCommand,
  demoCommand,
];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `mx8 ${VERSION} — bounded, fast, distributed data runtime`,
    "",
    "Usage:",
    "  mx8 <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show help (also: mx8 <command> --help)",
    "  -V, --version  print the version",
  ].join("\n");
}

/**
 * Runs `mx8` on command-line arguments.
 *
 * @param args Arguments after the program name.
 * @returns The process exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (
    first === undefined || first === "-h" || first === "--help" ||
    first === "help"
  ) {
    console.log(topHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === "-V" || first === "--version") {
    console.log(`mx8 ${VERSION}`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) {
    console.error(`mx8: unknown command "${first}" (see mx8 --help)`);
    return 2;
  }
  return await runCommand(cmd, rest);
}
