import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  libraryCandidates,
  libraryFileName,
  loadNativeLibrary,
} from "../../lib/native/mod.ts";
import { nativeMissing } from "./_fixtures.ts";

Deno.test("library candidates start with MX8_FFI_LIB, then the repo build, then the executable's dir", () => {
  const candidates = libraryCandidates();
  assert.ok(
    candidates.some((p) =>
      p.endsWith(`ffi/target/release/${libraryFileName()}`)
    ),
  );
  assert.ok(candidates.at(-1)!.endsWith(libraryFileName()));
});

Deno.test({
  name: "the library loads from the repo build",
  ignore: nativeMissing,
  fn() {
    const result = loadNativeLibrary();
    assert.ok(result.ok);
    assert.ok(loadNativeLibrary() === result, "cached");
  },
});

Deno.test("a missing MX8_FFI_LIB is reported and auto falls back to sharp", async () => {
  const select = fileURLToPath(
    new URL("../../lib/decode/select.ts", import.meta.url),
  );
  const code = `
    const { createDecoder } = await import(${JSON.stringify(select)});
    console.log(createDecoder({ backend: "auto" }).name);
    try { createDecoder({ backend: "native" }); } catch (e) { console.log(e.message); }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { MX8_FFI_LIB: "/nonexistent/libmx8_ffi.so" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const [name, message] = text.trim().split("\n");
  assert.equal(name, "sharp");
  assert.match(
    message,
    /MX8_FFI_LIB="\/nonexistent\/libmx8_ffi.so" does not exist/,
  );
  assert.match(message, /deno task build:ffi/);
});
