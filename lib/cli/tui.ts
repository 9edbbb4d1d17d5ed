/**
 * `mx8 tui --coord-url URL --job-id J`: the operator view of a live job,
 * full screen or headless (`--headless-polls N`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createCoordinatorClient } from "../rpc/client.ts";
import { loadAuthToken } from "../rpc/token.ts";
import { runFullScreen } from "../tui/app.ts";
import { runHeadless } from "../tui/headless.ts";
import { type Command, UsageError } from "./command.ts";

const HELP = `mx8 tui — operator view of a live job

Usage:
  mx8 tui --coord-url URL --job-id J [--poll-ms 1000] [--headless-polls N]
          [--manifest-path F] [--stale-heartbeat-ms 5000] [--lease-stall-ms 10000]
          [--auth-token-file F]

Full screen (needs a terminal): overview, progress, nodes and a manifest
explorer, refreshed every --poll-ms from GetJobSnapshot.
Keys: q quit · j/k ↑/↓ move · PgUp/PgDn page · Home/End · / filter ·
g goto sample_id · Esc clear filter · r reload manifest · Ctrl-L redraw.

Headless (--headless-polls N): polls N times and prints one status line per
poll, then "mx8 tui headless OK lease=true runtime=true manifest=true" (exit 0)
once every panel had data, else a FAILED line naming the empty panels and the
last error (exit 1).

Health (worst first): stalled (active leases, no progress for
--lease-stall-ms) > degraded (a stale or departed node, or RSS ≥ 90% of its
cap) > warming (membership barrier not met) > drained > healthy.

Options:
  --coord-url URL[,URL...]   coordinator URL (required), e.g. http://127.0.0.1:50051;
                             several HA replicas (--ha-etcd): reads follow the
                             leader, the overview shows leader, term, failovers
  --job-id J                 job id (required)
  --poll-ms N                time between snapshot polls (default 1000)
  --headless-polls N         headless mode: poll N times, print status lines
  --manifest-path F          local manifest.tsv shown when GetManifestStream fails
  --stale-heartbeat-ms N     a node with hb_age_ms above N is stale (default 5000)
  --lease-stall-ms N         active leases without progress for N ms = stalled (default 10000)
  --auth-token-file F        bearer token file (or MX8_AUTH_TOKEN)
  -h, --help                 show this help

hb_age_ms is measured on the coordinator's clock (server_time − last heartbeat).`;

function intFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(
      `${flag} must be an integer ≥ ${min}, got "${text}"`,
    );
  }
  return n;
}

/** The `tui` subcommand. */
export const tuiCommand: Command = {
  name: "tui",
  summary: "operator view of a live job (full screen, or headless for scripts)",
  help: HELP,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        "coord-url": { type: "string" },
        "job-id": { type: "string" },
        "poll-ms": { type: "string" },
        "headless-polls": { type: "string" },
        "manifest-path": { type: "string" },
        "stale-heartbeat-ms": { type: "string" },
        "lease-stall-ms": { type: "string" },
        "auth-token-file": { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"`);
    }
    const coordUrl = values["coord-url"];
    const jobId = values["job-id"];
    if (!coordUrl) throw new UsageError("missing --coord-url URL");
    if (!jobId) throw new UsageError("missing --job-id J");
    for (const url of coordUrl.split(",")) {
      let protocol = "";
      try {
        protocol = new URL(url).protocol;
      } catch {
        // not a URL: reported below
      }
      if (protocol !== "http:" && protocol !== "https:") {
        throw new UsageError(
          `--coord-url must be an http(s) URL (or several, comma-separated), got "${url}"`,
        );
      }
    }
    const pollMs = intFlag("--poll-ms", values["poll-ms"], 1000, 10);
    const health = {
      staleHeartbeatMs: intFlag(
        "--stale-heartbeat-ms",
        values["stale-heartbeat-ms"],
        5000,
        1,
      ),
      leaseStallMs: intFlag(
        "--lease-stall-ms",
        values["lease-stall-ms"],
        10000,
        1,
      ),
    };
    const polls = values["headless-polls"] === undefined
      ? undefined
      : intFlag("--headless-polls", values["headless-polls"], 1, 1);
    const manifestPath = values["manifest-path"];
    if (polls === undefined && !Deno.stdout.isTerminal()) {
      throw new UsageError(
        "full-screen mode needs a terminal on stdout; use --headless-polls N for scripts",
      );
    }
    const token = await loadAuthToken({ file: values["auth-token-file"] });
    using client = createCoordinatorClient(coordUrl, { token });
    if (polls !== undefined) {
      return await runHeadless({
        client,
        jobId,
        polls,
        pollMs,
        health,
        manifestPath,
      });
    }
    return await runFullScreen({
      client,
      coordUrl,
      jobId,
      pollMs,
      health,
      manifestPath,
    });
  },
};
