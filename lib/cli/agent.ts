/**
 * `mx8 agent`: the per-node worker. Registers with the coordinator, leases
 * ranges, streams only their manifest rows, fetches bytes under the memory
 * caps, delivers batches to a sink and reports progress; exits 0 when the
 * job is drained.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type AgentBatch, openSink } from "../agent/sink.ts";
import { leaseSourceFor } from "../distributed/mod.ts";
import { claimNodeId } from "../distributed/node_id.ts";
import { SEGMENT_SOURCE } from "../loader/base_loader.ts";
import { DataLoader } from "../loader/data_loader.ts";
import { LOADER_DEFAULTS } from "../loader/options.ts";
import type { SegmentSource } from "../loader/segment.ts";
import { loadAuthToken } from "../rpc/token.ts";
import { LEASE_IDS_PER_BATCH } from "../video/leased_clips.ts";
import type { VideoOptions } from "../video/options.ts";
import { VideoLoader } from "../video/video_loader.ts";
import { AGENT_VIDEO_KEYS, parseAgentVideo } from "./agent_video.ts";
import { type Command, intFlag, UsageError } from "./command.ts";

/** Largest delay `setTimeout` honours (ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const HELP = `mx8 agent — per-node worker

Usage:
  mx8 agent --coord-url URL --job-id J [options]

Registers with the coordinator (retrying with backoff while it is down or the
membership barrier is not met), heartbeats, leases ranges, streams only their
manifest rows, fetches bytes under the memory caps, delivers every batch to the
sink, reports progress, and exits 0 when the job is drained. Failures no retry
can cure (wrong token, a server that is not a coordinator, a blocked port, a
frozen membership) exit 1 at once with one line saying what to fix.

Options:
  --coord-url URL[,URL...]     coordinator URL, e.g. http://127.0.0.1:50051 (required);
                               several HA replicas (--ha-etcd): calls follow the leader
  --job-id J                   job id (required)
  --node-id ID                 node id (default: HOSTNAME-K, K = the lowest slot of
                               this job free on this host: the same command re-run
                               after a crash gets the same id and rejoins its rank)
  --want N                     live leases to hold (default 1)
  --sink SPEC                  null | ids:PATH | module:PATH (default null)
                                 ids:PATH     append each delivered sample id on its own line
                                              (--video: one line a clip: CLIP_ID<TAB>SAMPLE_ID<TAB>START_SECONDS)
                                 module:PATH  a TS module whose default export gets each batch
  --video JSON                 decode the leased videos into clips and deliver clip batches
                               ({ clips, clipIds, sampleIds, startSeconds }); JSON holds
                               video()'s clip options, "clip" required, e.g.
                               '{"clip":16,"stride":8,"resizeHw":[224,224]}'; keys:
${wrapKeys(AGENT_VIDEO_KEYS, 31, 84)}
                               (docs/video.md); --batch-size then counts clips (default 8)
  --batch-size N               samples per batch (default ${LOADER_DEFAULTS.batchSizeSamples})
  --max-inflight-bytes N       inflight byte cap (default ${LOADER_DEFAULTS.maxInflightBytes})
  --prefetch-batches N         batches fetched ahead (default ${LOADER_DEFAULTS.prefetchBatches}; --video: 2)
  --max-queue-batches N        ready batches bound (default ${LOADER_DEFAULTS.maxQueueBatches}; not with --video)
  --sink-sleep-ms N            sleep N ms per delivered sample or clip (fault injection: slow sink)
  --kill-after-ms N            exit abruptly (SIGKILL) at the first batch delivered N ms after the first lease, mid-lease (fault injection)
  --connect-timeout-ms N       exit 1 after the coordinator was unreachable N ms
                               (default 0: keep retrying, e.g. across a restart)
  --barrier-timeout-ms N       exit 1 when the membership barrier is not met
                               N ms after registering (default 0: wait)
  --auth-token-file F          bearer token file (default: $MX8_AUTH_TOKEN)
  -h, --help                   show this help

Logs one JSON line per event on stderr; last stdout line:
  mx8 agent done node=ID samples=N batches=M leases=K
  (--video: mx8 agent done node=ID clips=N batches=M leases=K)
(SIGTERM/SIGINT before the drain: "mx8 agent stopped by SIGTERM …", exit 143/130)`;

/** `keys` as comma-separated lines indented by `indent`, at most `width` wide. */
function wrapKeys(
  keys: readonly string[],
  indent: number,
  width: number,
): string {
  const lines: string[] = [];
  let line = "";
  for (const [i, k] of keys.entries()) {
    const word = k + (i < keys.length - 1 ? "," : "");
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l).join("\n");
}

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
        "video": { type: "string" },
        "batch-size": { type: "string" },
        "max-inflight-bytes": { type: "string" },
        "prefetch-batches": { type: "string" },
        "max-queue-batches": { type: "string" },
        "sink-sleep-ms": { type: "string" },
        "kill-after-ms": { type: "string" },
        "connect-timeout-ms": { type: "string" },
        "barrier-timeout-ms": { type: "string" },
        "auth-token-file": { type: "string" },
      },
      strict: true,
    });
    const coordUrl = values["coord-url"];
    const jobId = values["job-id"];
    if (!coordUrl) throw new UsageError("missing --coord-url");
    if (!jobId) throw new UsageError("missing --job-id");
    const video = values.video === undefined
      ? undefined
      : parseAgentVideo(values.video);
    if (video && values["max-queue-batches"] !== undefined) {
      throw new UsageError(
        `--max-queue-batches does not apply to --video: clip batches are built --prefetch-batches ahead`,
      );
    }
    if (video?.batchSizeClips !== undefined && values["batch-size"]) {
      throw new UsageError(
        `--batch-size and --video's "batchSizeClips" both set the clips per batch: pass one`,
      );
    }
    const connectTimeoutMs = intFlag(
      "connect-timeout-ms",
      values["connect-timeout-ms"],
      0,
      0,
      MAX_TIMER_MS,
    );
    const barrierTimeoutMs = intFlag(
      "barrier-timeout-ms",
      values["barrier-timeout-ms"],
      0,
      0,
      MAX_TIMER_MS,
    );
    const claim = values["node-id"] ? undefined : claimNodeId(jobId);
    const nodeId = values["node-id"] ?? claim!.nodeId;
    const sleepMs = intFlag(
      "sink-sleep-ms",
      values["sink-sleep-ms"],
      0,
      0,
      MAX_TIMER_MS,
    );
    const killAfter = values["kill-after-ms"] === undefined
      ? undefined
      : intFlag("kill-after-ms", values["kill-after-ms"], 0, 0, MAX_TIMER_MS);
    const options = {
      coordUrl,
      jobId,
      nodeId,
      want: intFlag("want", values.want, 1, 1, 1024),
      batchSizeSamples: intFlag(
        "batch-size",
        values["batch-size"],
        LOADER_DEFAULTS.batchSizeSamples,
        1,
        2 ** 24,
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
        65_536,
      ),
      maxQueueBatches: intFlag(
        "max-queue-batches",
        values["max-queue-batches"],
        LOADER_DEFAULTS.maxQueueBatches,
        1,
        65_536,
      ),
      connectTimeoutMs,
      barrierTimeoutMs,
      authToken: await loadAuthToken({ file: values["auth-token-file"] }),
    };
    const log = (event: string, fields: Record<string, unknown>) =>
      console.error(
        JSON.stringify({ ts: new Date().toISOString(), event, ...fields }),
      );
    if (claim?.fallbackReason) {
      log("node_id_fallback", {
        node_id: nodeId,
        reason: claim.fallbackReason,
        fix: "pass --node-id so a restarted agent can rejoin its job",
      });
    }
    const sink = await openSink(values.sink ?? "null", { nodeId, jobId });
    // Fault injection dies right after delivering a batch: that batch's
    // progress is reported only on release, so a lease is always live (cursor
    // short of its end) when the agent dies, and the lease expires.
    let killDue = false;
    const source = leaseSourceFor(
      options,
      video ? LEASE_IDS_PER_BATCH : options.batchSizeSamples,
      {
        log,
        onFirstLease: () => {
          if (killAfter === undefined) return;
          log("kill_scheduled", { node_id: nodeId, after_ms: killAfter });
          setTimeout(() => killDue = true, killAfter);
        },
      },
    );
    let loader: DataLoader | VideoLoader;
    try {
      loader = video
        ? videoLoader(video, values, options, source, log)
        : new DataLoader(
          "",
          { ...options, [SEGMENT_SOURCE]: source } as never,
        );
    } catch (err) {
      await source.close();
      await sink.close();
      claim?.release();
      throw err;
    }
    let stoppedBy: "SIGTERM" | "SIGINT" | undefined;
    const onTerm = () => (stoppedBy = "SIGTERM", void loader.close());
    const onInt = () => (stoppedBy = "SIGINT", void loader.close());
    Deno.addSignalListener("SIGTERM", onTerm);
    Deno.addSignalListener("SIGINT", onInt);
    try {
      for await (const batch of loader as AsyncIterable<AgentBatch>) {
        await sink.write(batch);
        if (killDue) Deno.kill(Deno.pid, "SIGKILL");
        if (sleepMs > 0) {
          await new Promise((r) =>
            setTimeout(r, sleepMs * batch.sampleIds.length)
          );
        }
      }
    } finally {
      Deno.removeSignalListener("SIGTERM", onTerm);
      Deno.removeSignalListener("SIGINT", onInt);
      await loader.close();
      await sink.close();
      claim?.release();
    }
    const leases = (source as { leasesStarted?: number }).leasesStarted ?? 0;
    const verb = stoppedBy ? `stopped by ${stoppedBy}` : "done";
    const counts = loader instanceof VideoLoader
      ? `clips=${loader.stats().deliveredClipsTotal} batches=${loader.stats().deliveredBatchesTotal}`
      : `samples=${loader.stats().deliveredSamplesTotal} batches=${loader.stats().deliveredBatchesTotal}`;
    console.log(
      `mx8 agent ${verb} node=${nodeId} ${counts} leases=${leases}`,
    );
    // Stopped before the job drained: 128 + signal number, like a shell.
    if (stoppedBy) return stoppedBy === "SIGTERM" ? 143 : 130;
    return 0;
  },
};

/**
 * The agent's video loader over its lease source: `--video`'s clip options
 * with the agent's byte cap, prefetch and batch size (clips). A value the
 * loader refuses is a usage error naming `--video`.
 */
function videoLoader(
  video: VideoOptions,
  values: Record<string, unknown>,
  options: {
    coordUrl: string;
    jobId: string;
    nodeId: string;
    batchSizeSamples: number;
    maxInflightBytes: number;
    prefetchBatches: number;
  },
  source: SegmentSource,
  log: (event: string, fields: Record<string, unknown>) => void,
): VideoLoader {
  try {
    return new VideoLoader("", {
      ...video,
      coordUrl: options.coordUrl,
      jobId: options.jobId,
      nodeId: options.nodeId,
      ...(values["batch-size"] !== undefined
        ? { batchSizeClips: options.batchSizeSamples }
        : {}),
      ...(values["max-inflight-bytes"] !== undefined
        ? { maxInflightBytes: options.maxInflightBytes }
        : {}),
      ...(values["prefetch-batches"] !== undefined
        ? { prefetchBatches: options.prefetchBatches }
        : {}),
      log,
      [SEGMENT_SOURCE]: source,
    } as VideoOptions);
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) {
      throw new UsageError(`--video: ${err.message}`);
    }
    throw err;
  }
}
