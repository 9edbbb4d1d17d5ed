/**
 * MX8 side of scripts/bench/video.ts, in its own process (so its RSS is
 * its own): reads every clip of a folder of videos with `video()` and
 * prints one JSON line: wall ms (open included), `open()`'s ms, clips, frames decoded and
 * kept, decode passes, RSS at open and the highest RSS sampled while
 * iterating. Loading `libmx8_video` (and with it FFmpeg's shared libraries)
 * happens before the clock starts, as PyAV's `import av` does in its worker
 * (its time is printed as `libLoadMs`).
 *
 * ```sh
 * deno run -A scripts/bench/_video_mx8.ts <dir> <clip> <stride> <h> <w> <batch> <maxInflightBytes>
 * ```
 *
 * @module
 */

import { video } from "../../lib/video/video_loader.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";
import { loadVideoLibrary } from "../../lib/native/video_library.ts";

const [dir, clip, stride, h, w, batch, cap] = Deno.args;
const store = openManifestStore(
  await Deno.makeTempDir({ prefix: "mx8-bench-video-store-" }),
);
const tLoad = performance.now();
const lib = loadVideoLibrary();
if (!lib.ok) throw new Error(lib.reason);
const libLoadMs = performance.now() - tLoad;
const t0 = performance.now();
await using loader = video(dir, {
  clip: Number(clip),
  stride: Number(stride),
  resizeHw: [Number(h), Number(w)],
  batchSizeClips: Number(batch),
  maxInflightBytes: Number(cap),
  manifestStore: store,
  backend: "native",
  log: () => {},
});
await loader.open();
const openMs = performance.now() - t0;
const rssOpen = Deno.memoryUsage().rss;
let peak = rssOpen;
const sample = setInterval(() => {
  peak = Math.max(peak, Deno.memoryUsage().rss);
}, 5);
let clips = 0;
let checksum = 0;
for await (const b of loader) {
  clips += b.clips.shape[0];
  checksum = (checksum + b.clips.data[b.clips.data.length - 1]) | 0;
  peak = Math.max(peak, Deno.memoryUsage().rss);
}
clearInterval(sample);
const ms = performance.now() - t0;
const s = loader.stats();
console.log(JSON.stringify({
  ms,
  libLoadMs,
  openMs,
  clips,
  checksum,
  framesDecoded: s.framesDecoded,
  framesKept: s.framesKept,
  decodePasses: s.decodePasses,
  decodeMs: s.decodeMs,
  rssOpen,
  peakRss: peak,
  highWater: s.inflightHighWaterBytes,
}));
