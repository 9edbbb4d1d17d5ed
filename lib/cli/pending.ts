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

/** `mx8 coordinator` until the distributed issue lands. */
export const coordinatorPending: Command = pending(
  "coordinator",
  "per-job control plane: pins the dataset snapshot, serves leases over Connect-RPC",
  `mx8 coordinator — per-job control plane

Usage:
  mx8 coordinator --job-id J --dataset LINK [options]

Options:
  --job-id J               job id agents must present (required)
  --dataset LINK           dataset link to pin at start (required)
  --bind HOST:PORT         listen address (default 127.0.0.1:50051)
  --world-size N           nodes required before leases are granted (default 1)
  --min-world-size M       start with at least M nodes
  --block-size N           samples per lease block (default 65536)
  --lease-ttl-ms N         lease lifetime without progress (default 10000)
  --heartbeat-ms N         heartbeat interval agents use (default 1000)
  --shuffle --seed S --epoch E   deal blocks in a seeded order
  --manifest-store ROOT    manifest store
  --auth-token-file F      require Authorization: Bearer <token> (or MX8_AUTH_TOKEN)`,
);

/** `mx8 agent` until the distributed issue lands. */
export const agentPending: Command = pending(
  "agent",
  "per-node worker: registers, leases ranges, fetches bytes, delivers to a sink",
  `mx8 agent — per-node worker

Usage:
  mx8 agent --coord-url URL --job-id J [options]

Options:
  --coord-url URL          coordinator URL (required)
  --job-id J               job id (required)
  --node-id ID             node id (default: hostname-pid)
  --want N                 live leases to hold (default 1)
  --sink null|ids:PATH|module:PATH   where delivered batches go (default null)
  --sink-sleep-ms N        slow delivery by N ms per sample (fault injection)
  --kill-after-ms N        exit abruptly N ms after the first lease (fault injection)
  --auth-token-file F      bearer token file (or MX8_AUTH_TOKEN)`,
);

/** `mx8 pack` until the pack issue lands. */
export const packPending: Command = pending(
  "pack",
  "pack many small objects into tar shards + byte-range manifest",
  `mx8 pack — pack many small objects into tar shards + a byte-range manifest

Usage:
  mx8 pack --in SRC --out DST [--shard-mb 512] [--label-mode auto|imagefolder|none]

SRC and DST are local directories or s3://bucket/prefix.`,
);

/** `mx8 tui` until the TUI issue lands. */
export const tuiPending: Command = pending(
  "tui",
  "operator view of a live job (full screen, or headless for scripts)",
  `mx8 tui — operator view of a live job

Usage:
  mx8 tui --coord-url URL --job-id J [--poll-ms 1000] [--headless-polls N]
          [--manifest-path F] [--stale-heartbeat-ms 5000] [--lease-stall-ms 10000]`,
);

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
