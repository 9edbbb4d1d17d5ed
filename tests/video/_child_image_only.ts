// Child of tests/video/ffmpeg_optional_test.ts: uses the public API the way
// an image-only program does, then reports whether FFmpeg got mapped.
import * as mx8 from "../../mod.ts";
import { loadNativeLibrary } from "../../lib/native/library.ts";

loadNativeLibrary(); // the image library, when built
const maps = await Deno.readTextFile("/proc/self/maps");
let videoError = "";
if (Deno.args[0] === "video") {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/a.mp4`, new Uint8Array(16));
  try {
    await mx8.video(dir, {
      clip: 4,
      backend: "native",
      manifestStore: mx8.openManifestStore(`${dir}/store`),
      log: () => {},
    }).open();
  } catch (e) {
    videoError = `${(e as Error).name}: ${(e as Error).message}`;
  }
  await Deno.remove(dir, { recursive: true });
}
console.log(JSON.stringify({
  exports: typeof mx8.video,
  ffmpegMapped: /libav(format|codec)/.test(maps),
  videoError,
}));
