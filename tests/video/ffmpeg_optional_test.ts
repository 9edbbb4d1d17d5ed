import assert from "node:assert/strict";

const CHILD = new URL("./_child_image_only.ts", import.meta.url).pathname;

async function child(env: Record<string, string>, args: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CHILD, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(text) as {
    exports: string;
    ffmpegMapped: boolean;
    videoError: string;
  };
}

Deno.test("importing mod.ts and loading the image library never loads FFmpeg", async () => {
  const r = await child({});
  assert.equal(r.exports, "function");
  assert.equal(r.ffmpegMapped, false);
});

Deno.test('without libmx8_video, video({ backend: "native" }) fails at open with one line naming the fix', async () => {
  const r = await child({ MX8_VIDEO_LIB: "/nonexistent/libmx8_video.so" }, [
    "video",
  ]);
  assert.equal(
    r.videoError,
    'VideoUnavailableError: mx8: video decoding is unavailable: MX8_VIDEO_LIB="/nonexistent/libmx8_video.so" does not exist: point it at a built libmx8_video or unset it',
  );
  assert.equal(r.ffmpegMapped, false);
});
