/**
 * The per-video index cached with a snapshot: `video_index/<manifest hash>`
 * in the manifest store, so a dataset's videos are probed once, not at
 * every loader open. JSON, keyed by sample id, with each video's byte size
 * (an entry whose size no longer matches is probed again).
 *
 * @module
 */

import type { VideoIndex } from "./types.ts";

/** One cached video. */
export interface CachedVideo {
  /** The video's index. */
  index: VideoIndex;
  /** Its size in bytes when it was probed. */
  size: number;
}

interface Entry {
  id: string;
  size: number;
  tb: [number, number];
  start: number;
  duration: number;
  rate: number;
  frames: number;
  width: number;
  height: number;
  codec: string;
  keys: number[];
}

/**
 * Encodes cached videos.
 *
 * @param videos The videos.
 * @returns UTF-8 JSON bytes.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeVideoIndexCache, encodeVideoIndexCache } from "./index_cache.ts";
 * const index = {
 *   sampleId: 3n, timeBase: [1, 12800] as [number, number], startSeconds: 0,
 *   durationSeconds: 4, frameRate: 25, frameCount: 100, width: 320, height: 240,
 *   codec: "h264", keyframeSeconds: [0, 2.4],
 * };
 * const back = decodeVideoIndexCache(encodeVideoIndexCache([{ index, size: 58599 }]));
 * assert.deepEqual(back.get(3n), { index, size: 58599 });
 * ```
 */
export function encodeVideoIndexCache(
  videos: readonly CachedVideo[],
): Uint8Array {
  const entries: Entry[] = videos.map(({ index: v, size }) => ({
    id: String(v.sampleId),
    size,
    tb: v.timeBase,
    start: v.startSeconds,
    duration: v.durationSeconds,
    rate: v.frameRate,
    frames: v.frameCount,
    width: v.width,
    height: v.height,
    codec: v.codec,
    keys: v.keyframeSeconds,
  }));
  return new TextEncoder().encode(JSON.stringify({ v: 1, videos: entries }));
}

/**
 * Decodes a cache; anything malformed yields an empty map (the videos are
 * then probed again, never trusted).
 *
 * @param bytes What {@linkcode encodeVideoIndexCache} wrote.
 * @returns Cached videos by sample id.
 *
 * @example A corrupt cache is an empty one
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeVideoIndexCache } from "./index_cache.ts";
 * assert.equal(decodeVideoIndexCache(new TextEncoder().encode("{oops")).size, 0);
 * ```
 */
export function decodeVideoIndexCache(
  bytes: Uint8Array,
): Map<bigint, CachedVideo> {
  const out = new Map<bigint, CachedVideo>();
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    if (doc?.v !== 1 || !Array.isArray(doc.videos)) return out;
    for (const e of doc.videos as Entry[]) {
      if (!validEntry(e)) return new Map();
      const sampleId = BigInt(e.id);
      out.set(sampleId, {
        size: e.size,
        index: {
          sampleId,
          timeBase: [e.tb[0], e.tb[1]],
          startSeconds: e.start,
          durationSeconds: e.duration,
          frameRate: e.rate,
          frameCount: e.frames,
          width: e.width,
          height: e.height,
          codec: e.codec,
          keyframeSeconds: e.keys,
        },
      });
    }
    return out;
  } catch {
    return new Map();
  }
}

function validEntry(e: Entry): boolean {
  const num = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  return typeof e === "object" && e !== null && /^\d+$/.test(e.id) &&
    Number.isSafeInteger(e.size) && Array.isArray(e.tb) && e.tb.length === 2 &&
    e.tb.every(num) && e.tb[0] > 0 && e.tb[1] > 0 &&
    [e.start, e.duration, e.rate, e.frames, e.width, e.height].every(num) &&
    typeof e.codec === "string" && Array.isArray(e.keys) && e.keys.every(num);
}
