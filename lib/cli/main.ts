/**
 * The `mx8` command-line dispatcher.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import { lazyUrl } from "../util/lazy.ts";
import { type Command, runCommand } from "./command.ts";

/** A subcommand whose implementation loads on first use (fast startup). */
interface LazyCommand {
  /** Subcommand name. */
  name: string;
  /** One-line summary for `mx8 --help`. */
  summary: string;
  /** Loads the implementation. */
  load(): Promise<Command>;
  /** Left out of `mx8 --help` (internal plumbing). */
  hidden?: boolean;
}

/** Every subcommand, in `--help` order. */
export const COMMANDS: readonly LazyCommand[] = [
  {
    name: "coordinator",
    summary:
      "per-job control plane: pins the dataset snapshot, serves leases over Connect-RPC",
    load: async () =>
      (await import(lazyUrl("./coordinator.ts", import.meta.url)))
        .coordinatorCommand,
  },
  {
    name: "agent",
    summary:
      "per-node worker: registers, leases ranges, fetches bytes, delivers to a sink",
    load: async () =>
      (await import(lazyUrl("./agent.ts", import.meta.url))).agentCommand,
  },
  {
    name: "pack",
    summary: "pack many small objects into tar shards + byte-range manifest",
    load: async () =>
      (await import(lazyUrl("./pack.ts", import.meta.url))).packCommand,
  },
  {
    name: "tui",
    summary:
      "operator view of a live job (full screen, or headless for scripts)",
    load: async () =>
      (await import(lazyUrl("./tui.ts", import.meta.url))).tuiCommand,
  },
  {
    name: "resolve",
    summary: "resolve a dataset link to a pinned manifest hash",
    load: async () =>
      (await import(lazyUrl("./resolve.ts", import.meta.url))).resolveCommand,
  },
  {
    name: "demo",
    summary:
      "embedded default: dataset, pack, coordinator + agents, a kill, requeue, drain, stats",
    load: async () =>
      (await import(lazyUrl("./demo.ts", import.meta.url))).demoCommand,
  },
  {
    name: "bridge",
    summary: "runtime side of the Python binding (internal)",
    load: async () =>
      (await import(lazyUrl("./bridge.ts", import.meta.url))).bridgeCommand,
    hidden: true,
  },
];

function topHelp(): string {
  const shown = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...shown.map((c) => c.name.length));
  return [
    `mx8 ${VERSION} — bounded, fast, distributed data runtime`,
    "",
    "Usage:",
    "  mx8 <command> [options]",
    "",
    "Commands:",
    ...shown.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
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
  return await runCommand(await cmd.load(), rest);
}
