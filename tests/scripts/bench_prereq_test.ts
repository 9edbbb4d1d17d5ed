import assert from "node:assert/strict";
import { ROOT } from "./_run.ts";

/**
 * Runs `scripts/bench/<name>` with this process's environment minus every
 * `MX8_*` variable, plus `env`. The prerequisite check comes before any
 * work, so a run that fails it returns at once.
 */
async function bench(
  name: string,
  env: Record<string, string>,
  args: string[] = [],
) {
  const base = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("MX8_")),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}/scripts/bench/${name}`, ...args],
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

const NO_LIB = "/nonexistent/libmx8_ffi.so";

Deno.test("bench:coordinator without h2load and cc: one line naming them and the apt-get command, exit 1, nothing run", async () => {
  const r = await bench("coordinator.ts", { PATH: "/nonexistent" });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^bench:coordinator: missing h2load, cc(, libnghttp2-dev)?: install with "apt-get install -y nghttp2-client gcc( libnghttp2-dev)?"; then rerun it \(or pick another simulator: --sim node or --sim deno\)\n$/,
  );
  const deno = await bench("coordinator.ts", { PATH: "/nonexistent" }, [
    "--sim",
    "deno",
    "--coord-cpus",
    "0",
  ]);
  assert.deepEqual(deno, {
    code: 1,
    stdout: "",
    stderr:
      'bench:coordinator: missing h2load, taskset: install with "apt-get install -y nghttp2-client util-linux"; then rerun it\n',
  });
});

Deno.test("bench:decode and bench:loader without the native library: one line, exit 1", async () => {
  for (const name of ["decode", "loader"]) {
    const r = await bench(`${name}.ts`, { MX8_FFI_LIB: NO_LIB });
    assert.deepEqual(r, {
      code: 1,
      stdout: "",
      stderr:
        `bench:${name}: missing libmx8_ffi at MX8_FFI_LIB="${NO_LIB}": point MX8_FFI_LIB at a built libmx8_ffi or unset it; then rerun it\n`,
    });
  }
});

Deno.test("bench:pack without tar on PATH nor the native library: one line, exit 1", async () => {
  const r = await bench("pack.ts", {
    PATH: "/nonexistent",
    MX8_FFI_LIB: NO_LIB,
  });
  assert.deepEqual(r, {
    code: 1,
    stdout: "",
    stderr:
      `bench:pack: missing GNU tar, libmx8_ffi at MX8_FFI_LIB="${NO_LIB}": install with "apt-get install -y tar", then point MX8_FFI_LIB at a built libmx8_ffi or unset it; then rerun it\n`,
  });
});
