/**
 * `mx8 agent --video JSON`: the clip options an agent decodes leased videos
 * with, parsed and checked before anything starts.
 *
 * @module
 */
import type { VideoOptions } from "../video/options.ts";
import { UsageError } from "./command.ts";

/** The keys `--video` accepts (the clip and decode options of `video()`). */
export const AGENT_VIDEO_KEYS: readonly (keyof VideoOptions)[] = [
  "clip",
  "stride",
  "frameStep",
  "fps",
  "sampling",
  "clipsPerVideo",
  "shuffle",
  "seed",
  "epoch",
  "batchSizeClips",
  "resizeHw",
  "toFloat",
  "decodeConcurrency",
  "decodeThreads",
  "maxPacketsPerClip",
  "maxSecondsPerClip",
  "onDecodeError",
  "backend",
];

/** Keys with their own agent flag. */
const FLAG_OF: Record<string, string> = {
  maxInflightBytes: "--max-inflight-bytes",
  prefetchBatches: "--prefetch-batches",
  coordUrl: "--coord-url",
  jobId: "--job-id",
  nodeId: "--node-id",
  want: "--want",
  authToken: "--auth-token-file",
  connectTimeoutMs: "--connect-timeout-ms",
  barrierTimeoutMs: "--barrier-timeout-ms",
};

/**
 * Parses `--video`'s JSON object of clip options (`video()`'s, e.g.
 * `{"clip":16,"stride":8,"resizeHw":[224,224]}`). Values are checked by the
 * video loader itself; this checks the shape and the keys.
 *
 * @param text The flag's value.
 * @returns The clip options.
 * @throws {UsageError} For text that is not a JSON object, an unknown key,
 *   or a key that has its own agent flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAgentVideo } from "./agent_video.ts";
 * assert.deepEqual(parseAgentVideo('{"clip":8,"stride":4}'), { clip: 8, stride: 4 });
 * assert.throws(() => parseAgentVideo('{"clips":8}'), /unknown key "clips"/);
 * ```
 */
export function parseAgentVideo(text: string): VideoOptions {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `--video must be a JSON object of clip options, e.g. '{"clip":16,"stride":8}': ${
        (err as Error).message
      } in ${JSON.stringify(text)}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(
      `--video must be a JSON object of clip options, e.g. '{"clip":16,"stride":8}', got ${text}`,
    );
  }
  const allowed = new Set<string>(AGENT_VIDEO_KEYS);
  for (const key of Object.keys(value)) {
    if (FLAG_OF[key]) {
      throw new UsageError(
        `--video key "${key}" has its own flag: pass ${FLAG_OF[key]} instead`,
      );
    }
    if (!allowed.has(key)) {
      throw new UsageError(
        `--video has an unknown key "${key}": use ${
          AGENT_VIDEO_KEYS.join(", ")
        } (docs/video.md)`,
      );
    }
  }
  const o = value as VideoOptions & { seed?: unknown };
  if (typeof o.clip !== "number") {
    throw new UsageError(
      `--video needs "clip" (frames per clip, a number), e.g. '{"clip":16}'`,
    );
  }
  return o;
}
