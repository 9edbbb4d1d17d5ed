/**
 * Runs the Python binding's own suite (`ffi/python/tests`, `unittest`) with a
 * Python that has numpy, so `deno task test` (and CI) covers it. Skipped,
 * saying why, when there is no such Python.
 *
 * @module
 */
import assert from "node:assert/strict";

const PKG = new URL("../../ffi/python/", import.meta.url).pathname;

/** A Python with numpy: `MX8_PYTHON`, else `/usr/bin/python3`, else `python3` on PATH. */
async function pythonWithNumpy(): Promise<string | null> {
  const env = Deno.env.get("MX8_PYTHON");
  for (const py of env ? [env] : ["/usr/bin/python3", "python3"]) {
    try {
      const out = await new Deno.Command(py, {
        args: ["-c", "import numpy"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) return py;
    } catch {
      // not installed
    }
  }
  return null;
}

const python = await pythonWithNumpy();
const SKIP =
  "no Python with numpy (apt install python3-numpy, or set MX8_PYTHON)";

Deno.test({
  name: `python: ffi/python/tests (unittest) pass${
    python ? "" : ` — skipped: ${SKIP}`
  }`,
  ignore: python === null,
  async fn() {
    const out = await new Deno.Command(python!, {
      args: ["-m", "unittest", "discover", "-s", "tests", "-t", "tests", "-v"],
      cwd: PKG,
      env: { PYTHONDONTWRITEBYTECODE: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    // Say which torch tests ran or were skipped, and why.
    for (const line of text.split("\n")) {
      if (line.includes("skipped")) console.log(line.trim());
    }
    assert.ok(out.success, `python unittest failed:\n${text}`);
    assert.match(text, /\nOK/);
  },
});
