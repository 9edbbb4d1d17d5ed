/**
 * The per-video index of a pack: each video's index (read from its
 * container's own index, never by decoding its frames) goes into its
 * manifest row's decode hint, so `video()` over the packed dataset never
 * probes a video again.
 *
 * @module
 */

import { join } from "node:path";
import { imageFolderHint } from "../manifest/row.ts";
import { unindexedVideoHint, videoIndexHint } from "../video/index_hint.ts";
import {
  probeVideo,
  probeVideoFile,
  videoAvailable,
} from "../video/native_decoder.ts";
import { isVideoLocation } from "../video/options.ts";
import type { VideoIndex } from "../video/types.ts";
import type { FileList } from "./file_list.ts";
import type { PackSource } from "./source.ts";

/** What {@linkcode indexPackedVideos} did. */
export interface PackedVideoIndex {
  /** Decode hint of each file (its video index; else its label hint or none). */
  hints: (string | undefined)[];
  /** Videos indexed. */
  indexed: number;
  /** Videos that could not be indexed (the loader probes or skips them), with why. */
  failed: { rel: string; reason: string }[];
  /** False without `libmx8_video`: no video was indexed (the loader probes them). */
  available: boolean;
}

/**
 * Indexes the videos among `files` (`.mp4 .mkv .webm .mov`): a local file
 * through FFmpeg's file reader (only its header and index are read), an S3
 * object from its bytes, one at a time.
 *
 * @param files The pack's files (file `i` is manifest sample `i`).
 * @param source Where they are read from.
 * @param labelIds Label id of each file, when labelled (kept in the hint).
 * @param signal Aborts between videos.
 * @returns The hints (`undefined` when there is no video). Without
 *   `libmx8_video` the video rows are only marked (`mx8:video`): the loader
 *   probes them.
 */
export async function indexPackedVideos(
  files: FileList,
  source: PackSource,
  labelIds: Int32Array | undefined,
  signal: AbortSignal,
): Promise<PackedVideoIndex | undefined> {
  const videos: number[] = [];
  for (let i = 0; i < files.length; i++) {
    if (isVideoLocation(files.rel(i))) videos.push(i);
  }
  if (videos.length === 0) return undefined;
  const label = (i: number) => labelIds === undefined ? undefined : labelIds[i];
  const hints: (string | undefined)[] = Array.from(
    { length: files.length },
    (_, i) => label(i) === undefined ? undefined : imageFolderHint(label(i)!),
  );
  const failed: { rel: string; reason: string }[] = [];
  // Every video row is marked, indexed or not (its location is a shard).
  for (const i of videos) hints[i] = unindexedVideoHint(label(i));
  if (!videoAvailable()) return { hints, indexed: 0, failed, available: false };
  for (const i of videos) {
    signal.throwIfAborted();
    const rel = files.rel(i);
    let index: VideoIndex;
    try {
      if (source.localRoot !== undefined) {
        index = probeVideoFile(join(source.localRoot, rel), BigInt(i), rel);
      } else {
        const bytes = await source.read(
          files.at(i),
          0,
          new Uint8Array(files.size(i)),
          signal,
        );
        index = probeVideo(bytes, BigInt(i), rel);
      }
    } catch (e) {
      signal.throwIfAborted();
      failed.push({ rel, reason: e instanceof Error ? e.message : String(e) });
      continue;
    }
    hints[i] = videoIndexHint(index, label(i));
  }
  return {
    hints,
    indexed: videos.length - failed.length,
    failed,
    available: true,
  };
}
