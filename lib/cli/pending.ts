/**
 * Subcommands whose implementation has not landed yet: full `--help`, and a
 * one-line "not available yet" error with exit code 2 when run.
 *
 * @module
 */
import type { Command } from "./command.ts";

function pending(name: string, summary: string, help: string): Command {
  return {
    name,
    summary,
    help,
    run() {
      console.error(
        `mx8 ${name}: not available yet in this build (see mx8 ${name} --help)`,
      );
      return Promise.resolve(2);
    },
  };
}

/** `mx8 demo` until the demo issue lands. */
export const demoPending: Command = pending(
  "demo",
  "embedded default: dataset, pack, coordinator + agents, a kill, requeue, drain, stats",
  `mx8 demo — the embedded default job

Usage:
  mx8 demo

Makes a small image dataset, packs it, runs a coordinator and 3 agents, kills one
agent mid-lease, shows the requeue and the drain, then prints loader stats.`,
);
