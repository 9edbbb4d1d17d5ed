/**
 * Child process of the decode-memory regression test: reads a dataset with
 * an ImageFolderLoader under a cap and prints one JSON line: delivered ids,
 * stats, RSS with the loader open and peak RSS since then (VmHWM after a
 * reset, so no sampling is missed), or the error that stopped it.
 *
 * Usage: deno run -A _decode_memory_child.ts DIR STORE CAP BACKEND ON_ERROR
 * [MAX_PIXELS]
 *
 * @module
 */
import { ImageFolderLoader } from "../../lib/loader/image_folder.ts";
import { FsManifestStore } from "../../lib/manifest_store/fs.ts";

const [dir, store, cap, backend, onDecodeError, maxPixels] = Deno.args;
const status = (key: string) =>
  Number(
    new RegExp(`${key}:\\s+(\\d+) kB`).exec(
      Deno.readTextFileSync("/proc/self/status"),
    )![1],
  ) * 1024;

const loader = new ImageFolderLoader(dir, {
  batchSizeSamples: 4,
  resizeHw: [224, 224],
  maxInflightBytes: Number(cap),
  decodeBackend: backend as "native" | "sharp" | "auto",
  decodeThreads: 2,
  onDecodeError: onDecodeError as "error" | "skip",
  maxPixels: maxPixels ? Number(maxPixels) : undefined,
  manifestStore: new FsManifestStore(store),
});
await loader.open();
Deno.writeTextFileSync("/proc/self/clear_refs", "5"); // reset VmHWM
const openRss = status("VmRSS");
const ids: number[] = [];
let error: string | undefined;
try {
  for await (const b of loader) ids.push(...Array.from(b.sampleIds, Number));
} catch (e) {
  error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
const s = loader.stats();
console.log(JSON.stringify({
  ids,
  error,
  openRss,
  peakRss: status("VmHWM"),
  inflightHighWaterBytes: s.inflightHighWaterBytes,
  decodeErrorsSkippedTotal: s.decodeErrorsSkippedTotal,
  decodeBackend: s.decodeBackend,
}));
