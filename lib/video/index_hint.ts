/**
 * A video's index inside its manifest row's decode hint, so a packed
 * dataset carries it (pinned by the manifest hash) and `video()` never
 * re-probes:
 *
 * `mx8:video;tb=1/12800;start=0;dur=256000;fr=25;n=500;wh=1280x720;codec=h264;keys=-1024,30720*8[;label_id=3]`
 *
 * Times are time-base ticks; `keys` lists the keyframe timestamps as
 * differences from the previous one (`d*k`: `k` times the difference `d`).
 *
 * @module
 */

import type { VideoIndex } from "./types.ts";

/** The prefix of a video decode hint. */
export const VIDEO_HINT_PREFIX = "mx8:video;";

/**
 * The decode hint of a video without an index (pack could not read it, or
 * had no `libmx8_video`): the loader knows the row is a video (its location
 * is a shard) and probes it.
 *
 * @param labelId The row's label id, if labelled.
 * @returns `mx8:video` (`;label_id=<n>` when labelled).
 */
export function unindexedVideoHint(labelId?: number): string {
  return labelId === undefined ? "mx8:video" : `mx8:video;label_id=${labelId}`;
}

/**
 * Whether a decode hint marks a video (with or without its index).
 *
 * @param hint A manifest row's decode hint.
 * @returns True for `mx8:video` and `mx8:video;…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isVideoHint } from "./index_hint.ts";
 * assert.equal(isVideoHint("mx8:video"), true);
 * assert.equal(isVideoHint("mx8:vision:imagefolder;label_id=1"), false);
 * ```
 */
export function isVideoHint(hint: string | undefined): boolean {
  return hint === "mx8:video" || (hint?.startsWith(VIDEO_HINT_PREFIX) ?? false);
}

/**
 * The decode hint of a video's index.
 *
 * @param index The index.
 * @param labelId The row's label id, if labelled.
 * @returns The hint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVideoIndexHint, videoIndexHint } from "./index_hint.ts";
 * const index = {
 *   sampleId: 4n, timeBase: [1, 12800] as [number, number], startSeconds: 0,
 *   durationSeconds: 4, frameRate: 25, frameCount: 100, width: 320,
 *   height: 240, codec: "h264", keyframeSeconds: [-0.08, 2.32],
 * };
 * const hint = videoIndexHint(index, 3);
 * assert.equal(hint, "mx8:video;tb=1/12800;start=0;dur=51200;fr=25;n=100;wh=320x240;codec=h264;keys=-1024,30720;label_id=3");
 * assert.deepEqual(parseVideoIndexHint(hint, 4n), index);
 * ```
 */
export function videoIndexHint(index: VideoIndex, labelId?: number): string {
  const [num, den] = index.timeBase;
  const ticks = (s: number) => Math.round((s * den) / num);
  const keys: string[] = [];
  let prev = 0;
  for (const k of index.keyframeSeconds) {
    const d = ticks(k) - prev;
    prev += d;
    const last = keys.length - 1;
    const m = last >= 0 ? /^(-?\d+)(?:\*(\d+))?$/.exec(keys[last]) : null;
    if (m && Number(m[1]) === d && keys.length > 1) {
      keys[last] = `${d}*${Number(m[2] ?? 1) + 1}`;
    } else {
      keys.push(String(d));
    }
  }
  const codec = index.codec.replace(/[^A-Za-z0-9_.-]/g, "_");
  return `${VIDEO_HINT_PREFIX}tb=${num}/${den};start=${
    ticks(index.startSeconds)
  };dur=${
    ticks(index.durationSeconds)
  };fr=${index.frameRate};n=${index.frameCount};wh=${index.width}x${index.height};codec=${codec};keys=${
    keys.join(",")
  }${labelId === undefined ? "" : `;label_id=${labelId}`}`;
}

/**
 * The index in a video decode hint, or `undefined` when the hint is not one
 * (or is malformed: the loader then probes the video).
 *
 * @param hint A manifest row's decode hint.
 * @param sampleId The row's sample id.
 * @returns The index, or undefined.
 */
export function parseVideoIndexHint(
  hint: string | undefined,
  sampleId: bigint,
): VideoIndex | undefined {
  if (!hint?.startsWith(VIDEO_HINT_PREFIX)) return undefined;
  const f = new Map<string, string>();
  for (const part of hint.slice(VIDEO_HINT_PREFIX.length).split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) f.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const int = (s: string | undefined) =>
    s !== undefined && /^-?\d+$/.test(s) ? Number(s) : NaN;
  const tb = /^(\d+)\/(\d+)$/.exec(f.get("tb") ?? "");
  const wh = /^(\d+)x(\d+)$/.exec(f.get("wh") ?? "");
  const num = tb ? Number(tb[1]) : NaN;
  const den = tb ? Number(tb[2]) : NaN;
  const start = int(f.get("start"));
  const dur = int(f.get("dur"));
  const fr = Number(f.get("fr") ?? "NaN");
  const n = int(f.get("n"));
  const codec = f.get("codec");
  const keysText = f.get("keys");
  if (
    !(num > 0 && den > 0) || !wh || !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(dur) || !(fr >= 0) || !(n >= 0) || !codec ||
    keysText === undefined
  ) return undefined;
  const sec = (t: number) => (t * num) / den;
  const keyframeSeconds: number[] = [];
  let at = 0;
  for (const item of keysText === "" ? [] : keysText.split(",")) {
    const m = /^(-?\d+)(?:\*(\d+))?$/.exec(item);
    if (!m) return undefined;
    const times = Number(m[2] ?? 1);
    if (!(times >= 1 && times <= 1e7)) return undefined;
    for (let i = 0; i < times; i++) {
      at += Number(m[1]);
      keyframeSeconds.push(sec(at));
    }
  }
  return {
    sampleId,
    timeBase: [num, den],
    startSeconds: sec(start),
    durationSeconds: sec(dur),
    frameRate: fr,
    frameCount: n,
    width: Number(wh[1]),
    height: Number(wh[2]),
    codec,
    keyframeSeconds,
  };
}
