import assert from "node:assert/strict";
import { join } from "node:path";
import {
  compileArgs,
  isDenortDownloadFailure,
  nativeLibraryName,
  ROOT,
} from "../../scripts/compile.ts";
import {
  embeddedLibraryCandidates,
  embeddedLibraryPath,
  extractLibraryBytes,
} from "../../lib/native/embedded.ts";
import { VERSION } from "../../lib/version.ts";
import { LAZY_MODULES } from "../../lib/util/lazy.ts";
import { tempDir } from "../_helpers/tmp.ts";

Deno.test("compile: deno compile arguments embed the native library when given", () => {
  assert.deepEqual(
    compileArgs({
      output: "dist/mx8",
      nativeLibrary: "ffi/target/release/libmx8_ffi.so",
    }),
    [
      "compile",
      "-A",
      "--unsafe-proto",
      "--output",
      "dist/mx8",
      "--include",
      "ffi/target/release/libmx8_ffi.so",
      ...LAZY_MODULES.flatMap((m) => ["--include", m]),
      "main.ts",
    ],
  );
  assert.deepEqual(
    compileArgs({ output: "o", target: "aarch64-apple-darwin", noCheck: true }),
    [
      "compile",
      "-A",
      "--unsafe-proto",
      "--no-check",
      "--target",
      "aarch64-apple-darwin",
      "--output",
      "o",
      ...LAZY_MODULES.flatMap((m) => ["--include", m]),
      "main.ts",
    ],
  );
  assert.equal(nativeLibraryName("aarch64-apple-darwin"), "libmx8_ffi.dylib");
  assert.equal(nativeLibraryName("x86_64-pc-windows-msvc"), "mx8_ffi.dll");
  assert.equal(nativeLibraryName("x86_64-unknown-linux-gnu"), "libmx8_ffi.so");
  assert.ok(
    isDenortDownloadFailure(
      "error: Writing deno compile executable to temporary file\n" +
        "Caused by:\n    0: Setting up base binary.\n    1: error sending request for url (…/denort-x86_64-unknown-linux-gnu.zip)",
    ),
  );
  assert.ok(!isDenortDownloadFailure("error: Module not found main.ts"));
});

Deno.test("compile: builds a binary that runs, or names the denort download failure and writes none", async () => {
  await using out = await tempDir();
  const output = join(out.path, "mx8");
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/scripts/compile.ts`, "--output", output],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(r.stdout);
  const stderr = new TextDecoder().decode(r.stderr);
  const exists = await Deno.stat(output).then(() => true, () => false);
  if (r.code === 0) {
    assert.match(stdout, /^compile OK .*version="mx8 /m, stderr);
    assert.ok(exists);
  } else {
    assert.equal(r.code, 1, stdout + stderr);
    assert.match(
      stdout,
      /^compile FAILED: deno compile could not download denort/m,
      stdout + stderr,
    );
    assert.ok(!exists, "no binary after a failed compile");
    const left = [];
    for await (const e of Deno.readDir(out.path)) left.push(e.name);
    assert.deepEqual(left, [], "no partial file");
  }
  assert.match(stderr, /compile: deno compile -A --unsafe-proto --output /);
});

Deno.test("embedded library: extracted once into <cache>/<version>-<hash>/, re-extracted when the bytes change", async () => {
  await using cache = await tempDir();
  const a = new TextEncoder().encode("fake library A");
  const p1 = extractLibraryBytes(a, "libmx8_ffi.so", cache.path);
  assert.match(
    p1,
    new RegExp(
      `/${VERSION.replaceAll(".", "\\.")}-[0-9a-f]{16}/libmx8_ffi\\.so$`,
    ),
  );
  assert.deepEqual(await Deno.readFile(p1), a);
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(p1)).mode! & 0o777, 0o755);
  }
  const mtime = (await Deno.stat(p1)).mtime;
  assert.equal(extractLibraryBytes(a, "libmx8_ffi.so", cache.path), p1);
  assert.deepEqual((await Deno.stat(p1)).mtime, mtime, "not rewritten");
  const p2 = extractLibraryBytes(
    new TextEncoder().encode("fake library B"),
    "libmx8_ffi.so",
    cache.path,
  );
  assert.notEqual(p2, p1);
  // No temp files left behind.
  for (const dir of [p1, p2].map((p) => p.slice(0, p.lastIndexOf("/")))) {
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["libmx8_ffi.so"]);
  }
});

Deno.test("embedded library: nothing to extract under deno run; the embedded path is the repository build output", () => {
  assert.deepEqual(embeddedLibraryCandidates("libmx8_ffi.so"), []);
  assert.equal(
    embeddedLibraryPath("libmx8_ffi.so"),
    join(ROOT, "ffi", "target", "release", "libmx8_ffi.so"),
  );
});
