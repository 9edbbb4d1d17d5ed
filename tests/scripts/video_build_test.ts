import assert from "node:assert/strict";
import { onPath } from "../../scripts/_prereq.ts";
import { shouldBuildVideo } from "../../scripts/ensure_native.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { ROOT } from "./_run.ts";

Deno.test("shouldBuildVideo: only with the whole toolchain, never with MX8_NATIVE_BUILD=0 or MX8_VIDEO_LIB", () => {
  const gone = { name: "libavformat-dev", present: () => false };
  assert.equal(shouldBuildVideo({ missing: [] }), true);
  assert.equal(shouldBuildVideo({ missing: [gone] }), false);
  assert.equal(shouldBuildVideo({ buildEnv: "0", missing: [] }), false);
  assert.equal(
    shouldBuildVideo({ videoLibEnv: "/x/libmx8_video.so", missing: [] }),
    false,
  );
});

Deno.test({
  name:
    "ffi/video without a working C compiler for FFmpeg's headers: the build fails with one line naming the packages",
  ignore: !onPath("cargo"),
  async fn() {
    await using t = await tempDir();
    const out = await new Deno.Command("cargo", {
      args: [
        "build",
        "--release",
        "--offline",
        "--manifest-path",
        `${ROOT}/ffi/video/Cargo.toml`,
      ],
      env: { CC: "false", CARGO_TARGET_DIR: t.path },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.success, false);
    const text = new TextDecoder().decode(out.stderr);
    assert.match(
      text,
      /mx8_video: false could not compile shim\/mx8_av\.c against FFmpeg's headers \(exit [^)]*\); install with "apt-get install -y gcc pkg-config libavformat-dev libavcodec-dev libswscale-dev"/,
    );
  },
});
