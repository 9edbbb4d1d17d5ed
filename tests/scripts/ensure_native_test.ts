import assert from "node:assert/strict";
import { onPath } from "../../scripts/_prereq.ts";
import { planNativeBuild } from "../../scripts/ensure_native.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { ROOT } from "./_run.ts";

const SCRIPT = `${ROOT}/scripts/ensure_native.ts`;
const hasCargo = onPath("cargo") && onPath("cc");

/**
 * Runs scripts/ensure_native.ts in a child process with this process's
 * environment minus every `MX8_*` variable, plus `env`.
 */
async function ensureNative(env: Record<string, string>, args: string[] = []) {
  const base = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("MX8_")),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", SCRIPT, ...args],
    clearEnv: true,
    env: { ...base, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A std-only cdylib named like the real one; `body` is its lib.rs. */
async function crate(dir: string, body: string): Promise<string> {
  await writeTree(dir, {
    "Cargo.toml":
      `[package]\nname = "mx8_ffi"\nversion = "0.0.0"\nedition = "2021"\n\n[lib]\ncrate-type = ["cdylib"]\npath = "lib.rs"\n`,
    "lib.rs": body,
  });
  return `${dir}/Cargo.toml`;
}

const cargo = { name: "cargo", how: "Rust from https://rustup.rs" };
const turbo = { name: "libturbojpeg0-dev", apt: "libturbojpeg0-dev" };
const gone = (p: { name: string; apt?: string; how?: string }) => ({
  ...p,
  present: () => false,
});

Deno.test("planNativeBuild: builds when the toolchain is there; off with MX8_NATIVE_BUILD=0 or MX8_FFI_LIB; quiet with a library built earlier; else one install line", () => {
  assert.deepEqual(planNativeBuild({ missing: [], built: true }), {
    kind: "build",
  });
  for (const env of [{ buildEnv: "0" }, { ffiLibEnv: "/x/libmx8_ffi.so" }]) {
    assert.deepEqual(
      planNativeBuild({ ...env, missing: [], built: false }),
      { kind: "skip" },
    );
  }
  const missing = [gone(cargo), gone(turbo)];
  assert.deepEqual(planNativeBuild({ missing, built: true }), {
    kind: "skip",
  });
  assert.deepEqual(planNativeBuild({ missing, built: false }), {
    kind: "hint",
    line:
      'mx8: native decoder not built (missing: cargo, libturbojpeg0-dev): install with "apt-get install -y libturbojpeg0-dev" and Rust from https://rustup.rs, then rerun; using sharp',
  });
});

Deno.test("ensure_native with only Deno on PATH: one line naming cargo and cc and how to install them, exit 0, nothing built", async () => {
  await using t = await tempDir();
  const manifest = await crate(t.path, "");
  const r = await ensureNative({ PATH: "/nonexistent" }, [
    "--manifest-path",
    manifest,
  ]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^mx8: native decoder not built \(missing: cargo, cc(, libturbojpeg0-dev)?\): install with "apt-get install -y gcc( libturbojpeg0-dev)?" and Rust from https:\/\/rustup\.rs, then rerun; using sharp\n$/,
  );
  await assert.rejects(Deno.stat(`${t.path}/target`));
  // --no-hint (the benchmarks' tasks): the caller says what is missing.
  assert.deepEqual(
    await ensureNative({ PATH: "/nonexistent" }, [
      "--manifest-path",
      manifest,
      "--no-hint",
    ]),
    { code: 0, stdout: "", stderr: "" },
  );
});

Deno.test("ensure_native: MX8_NATIVE_BUILD=0 and MX8_FFI_LIB turn it off (no line, no build)", async () => {
  await using t = await tempDir();
  const manifest = await crate(t.path, "");
  for (
    const env of [
      { MX8_NATIVE_BUILD: "0" } as Record<string, string>,
      { MX8_FFI_LIB: "/nonexistent/libmx8_ffi.so" },
      { MX8_NATIVE_BUILD: "0", PATH: "/nonexistent" },
    ]
  ) {
    const r = await ensureNative(env, ["--manifest-path", manifest]);
    assert.deepEqual(
      r,
      { code: 0, stdout: "", stderr: "" },
      JSON.stringify(env),
    );
  }
  await assert.rejects(Deno.stat(`${t.path}/target`));
});

Deno.test({
  name:
    "ensure_native with cargo: builds quietly, then is a quiet no-op; a failed build shows cargo's output and one line, exit 0",
  ignore: !hasCargo,
  async fn() {
    await using t = await tempDir();
    const manifest = await crate(
      t.path,
      '#[no_mangle]\npub extern "C" fn mx8_probe() -> u32 { 7 }\n',
    );
    const args = ["--manifest-path", manifest];
    const first = await ensureNative({}, args);
    assert.equal(first.code, 0);
    assert.equal(first.stdout, "");
    // Quiet, or one progress line when the build takes over 3 s.
    assert.match(first.stderr, /^(mx8: building the native decoder .*\n)?$/);
    assert.ok(
      (await Deno.stat(`${t.path}/target/release/libmx8_ffi.so`)).isFile,
    );
    assert.deepEqual(await ensureNative({}, args), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    await Deno.writeTextFile(`${t.path}/lib.rs`, "fn broken( {\n");
    const r = await ensureNative({}, args);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /error/);
    assert.match(
      r.stderr.trimEnd().split("\n").at(-1)!,
      /^mx8: native decoder build failed \(cargo build --release --offline --manifest-path .*Cargo\.toml exited 101, output above\); using sharp$/,
    );
  },
});
