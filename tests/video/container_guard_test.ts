import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeClipCli, probeVideoCli } from "../../lib/video/cli_decoder.ts";
import { VideoDecodeError } from "../../lib/video/errors.ts";
import { probeVideo, probeVideoFile } from "../../lib/video/native_decoder.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { sharedFixtures, videoTest } from "./_fixtures.ts";

/**
 * An HLS playlist saved as `.mp4`: FFmpeg's HLS demuxer would open the real
 * video it lists (any local file or URL): MX8 reads MP4/MOV and
 * Matroska/WebM only, so every backend refuses it instead.
 */
async function playlistPosingAsVideo(dir: string): Promise<string> {
  const v = await sharedFixtures();
  const path = join(dir, "clip.mp4");
  await Deno.writeTextFile(
    path,
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:30\n#EXTINF:20.0,\nfile://${v.h264}\n#EXT-X-ENDLIST\n`,
  );
  return path;
}

const CONTAINERS = /MP4\/MOV and Matroska\/WebM/;

videoTest(
  "a playlist posing as a video: the native probes refuse it and name what MX8 reads",
  async () => {
    await using dir = await tempDir();
    const path = await playlistPosingAsVideo(dir.path);
    for (
      const probe of [
        () => probeVideoFile(path, 7n),
        () => probeVideo(Deno.readFileSync(path), 7n, path),
      ]
    ) {
      assert.throws(probe, (e: unknown) => {
        assert.ok(e instanceof VideoDecodeError, String(e));
        assert.match(e.message, CONTAINERS);
        assert.match(e.message, /clip\.mp4/);
        return true;
      });
    }
  },
);

videoTest(
  "a playlist posing as a video: the ffmpeg CLI backend refuses it too",
  async () => {
    await using dir = await tempDir();
    const path = await playlistPosingAsVideo(dir.path);
    await assert.rejects(
      () => probeVideoCli(path, 7n),
      (e: unknown) => e instanceof VideoDecodeError,
    );
    // Given an index (e.g. a stale cache), decoding refuses it as well.
    const v = await sharedFixtures();
    const index = await probeVideoCli(v.h264, 7n);
    await assert.rejects(
      () => decodeClipCli(path, index, [0.4, 0.44], { height: 32, width: 32 }),
      (e: unknown) => e instanceof VideoDecodeError,
    );
    // A real video whose name has a colon is still read (paths go as "file:…").
    const odd = join(dir.path, "http:clip.mp4");
    await Deno.copyFile(v.h264, odd);
    assert.equal(probeVideoFile(odd, 7n).frameCount, index.frameCount);
    const ok = await decodeClipCli(odd, index, [0.4, 0.44], {
      height: 32,
      width: 32,
    });
    assert.equal(ok.frameSeconds.length, 2);
  },
);
