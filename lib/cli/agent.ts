/**
 * `mx8 agent`: the per-node worker. Registers with the coordinator, leases
 * ranges, streams only their manifest rows, fetches bytes under the memory
 * caps, delivers batches to a sink and reports progress; exits 0 when the
 * job is drained.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { openSink } from "../agent/sink.ts";
import { defaultNodeId, leaseSourceFor } from "../distributed/mod.ts";
import { SEGMENT_SOURCE } from "../loader/base_loader.ts";
import { DataLoader } from "../loader/data_loader.ts";
import { LOADER_DEFAULTS } from "../loader/options.ts";
import { loadAuthToken } from "../rpc/token.ts";
import { type Command, intFlag, UsageError } from "./command.ts";

const HELP = `mx8 agent — per-node worker

Usage:
  mx8 agent --coord-url URL --job-id J [options]

Registers with the coordinator (retrying while it is down or the membership
barrier is not met), heartbeats, leases ranges, streams only their manifest
rows, fetches bytes under the memory caps, delivers every batch to the sink,
reports progress, and exits 0 when the job is drained.

Options:
  --coord-url URL              coordinator URL, e.g. http://127.0.0.1:50051 (required)
  --job-id J                   job id (required)
  --node-id ID                 node id (default: hostname-pid)
  --want N                     live leases to hold (default 1)
  --sink SPEC                  null | ids:PATH | module:PATH (default null)
                                 ids:PATH     append each delivered sample id on its own line
                                 module:PATH  a TS module whose default export gets each batch
  --batch-size N               samples per batch (default ${LOADER_DEFAULTS.batchSizeSamples})
  --max-inflight-bytes N       inflight byte cap (default ${LOADER_DEFAULTS.maxInflightBytes})
  --prefetch-batches N         batches fetched ahead (default ${LOADER_DEFAULTS.prefetchBatches})
  --max-queue-batches N        ready batches bound (default ${LOADER_DEFAULTS.maxQueueBatches})
  --sink-sleep-ms N            sleep N ms per delivered sample (fault injection: slow sink)
  --kill-after-ms N            exit abruptly (SIGKILL) N ms after the first lease (fault injection)
  --auth-token-file F          bearer token file (default: $MX8_AUTH_TOKEN)
  -h, --help                   show this help

Logs one JSON line per event on stderr; last stdout line:
  mx8 agent done node=ID samples=N batches=M leases=K
(SIGTERM/SIGINT before the drain: "mx8 agent stopped by SIGTERM …", exit 143/130)`;

/** The `agent` subcommand. */
export const agentCommand: Command = {
  name: "agent",
  summary:
    "per-node worker: registers, leases ranges, fetches bytes, delivers to a sink",
  help: HELP,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        "coord-url": { type: "string" },
        "job-id": { type: "string" },
        "node-id": { type: "string" },
        "want": { type: "string" },
        "sink": { type: "string" },
        "batch-size": { type: "string" },
        "max-inflight-bytes": { type: "string" },
        "prefetch-batches": { type: "string" },
        "max-queue-batches": { type: "string" },
        "sink-sleep-ms": { type: "string" },
        "kill-after-ms": { type: "string" },
        "auth-token-file": { type: "string" },
      },
      strict: true,
    });
    const coordUrl = values["coord-url"];
    const jobId = values["job-id"];
    if (!coordUrl) throw new UsageError("missing --coord-url");
    if (!jobId) throw new UsageError("missing --job-id");
    const nodeId = values["node-id"] ?? defaultNodeId();
    const sleepMs = intFlag("sink-sleep-ms", values["sink-sleep-ms"], 0);
    const killAfter = values["kill-after-ms"] === undefined
      ? undefined
      : intFlag("kill-after-ms", values["kill-after-ms"], 0);
    const options = {
      coordUrl,
      jobId,
      nodeId,
      want: intFlag("want", values.want, 1, 1),
      batchSizeSamples: intFlag(
        "batch-size",
        values["batch-size"],
        LOADER_DEFAULTS.batchSizeSamples,
        1,
      ),
      maxInflightBytes: intFlag(
        "max-inflight-bytes",
        values["max-inflight-bytes"],
        LOADER_DEFAULTS.maxInflightBytes,
        1,
      ),
      prefetchBatches: intFlag(
        "prefetch-batches",
        values["prefetch-batches"],
        LOADER_DEFAULTS.prefetchBatches,
        1,
      ),
      maxQueueBatches: intFlag(
        "max-queue-batches",
        values["max-queue-batches"],
        LOADER_DEFAULTS.maxQueueBatches,
        1,
      ),
      authToken: await loadAuthToken({ file: values["auth-token-file"] }),
    };
    const log = (event: string, fields: Record<string, unknown>) =>
      console.error(
        JSON.stringify({ ts: new Date().toISOString(), event, ...fields }),
      );
    const sink = await openSink(values.sink ?? "null", { nodeId, jobId });
    const source = leaseSourceFor(options, options.batchSizeSamples, {
      log,
      onFirstLease: () => {
        if (killAfter === undefined) return;
        log("kill_scheduled", { node_id: nodeId, after_ms: killAfter });
        setTimeout(() => Deno.kill(Deno.pid, "SIGKILL"), killAfter);
      },
    });
    const loader = new DataLoader(
      "",
      { ...options, [SEGMENT_SOURCE]: source } as never,
    );
    let stoppedBy: "SIGTERM" | "SIGINT" | undefined;
    const onTerm = () => (stoppedBy = "SIGTERM", void loader.close());
    const onInt = () => (stoppedBy = "SIGINT", void loader.close());
    Deno.addSignalListener("SIGTERM", onTerm);
    Deno.addSignalListener("SIGINT", onInt);
    try {
      for await (const batch of loader) {
        await sink.write(batch);
        if (sleepMs > 0) {
          await new Promise((r) =>
            setTimeout(r, sleepMs * batch.sampleIds.length)
          );
        }
      }
    } finally {
      Deno.removeSignalListener("SIGTERM", onTerm);
      Deno.removeSignalListener("SIGINT", onInt);
      await sink.close();
    }
    const s = loader.stats();
    const leases = (source as { leasesStarted?: number }).leasesStarted ?? 0;
    const verb = stoppedBy ? `stopped by ${stoppedBy}` : "done";
    console.log(
      `mx8 agent ${verb} node=${nodeId} samples=${s.deliveredSamplesTotal} batches=${s.deliveredBatchesTotal} leases=${leases}`,
    );
    // Stopped before the job drained: 128 + signal number, like a shell.
    if (stoppedBy) return stoppedBy === "SIGTERM" ? 143 : 130;
    return 0;
  },
};
