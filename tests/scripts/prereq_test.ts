import assert from "node:assert/strict";
import {
  installHint,
  missingOf,
  onPath,
  type Prerequisite,
} from "../../scripts/_prereq.ts";
import { tempDir } from "../_helpers/tmp.ts";

function req(
  name: string,
  present: boolean,
  more: Partial<Prerequisite> = {},
): Prerequisite {
  return { name, present: () => present, ...more };
}

Deno.test("missingOf: only the missing, each after what it needs, once; needs of a present one are not checked", () => {
  let checked = false;
  const cargo = req("cargo", false);
  const cc = req("cc", false);
  const lib = req("lib", false, { needs: [cargo, cc, req("hdr", true)] });
  const probe = {
    name: "never",
    present: () => (checked = true),
  };
  const built = req("built", true, { needs: [probe] });
  assert.deepEqual(
    missingOf([cc, lib, built, req("x", true), cargo]).map((p) => p.name),
    ["cc", "cargo", "lib"],
  );
  assert.equal(checked, false);
});

Deno.test("installHint: one apt-get for every package, then other ways, then the steps after", () => {
  assert.equal(
    installHint([
      req("cargo", false, { how: "Rust from https://rustup.rs" }),
      req("cc", false, { apt: "gcc" }),
      req("libturbojpeg0-dev", false, { apt: "libturbojpeg0-dev" }),
      req("libmx8_ffi", false, { then: 'run "deno task build:ffi"' }),
    ]),
    'install with "apt-get install -y gcc libturbojpeg0-dev" and Rust from https://rustup.rs, then run "deno task build:ffi"',
  );
  assert.equal(
    installHint([
      req("libmx8_ffi", false, { then: 'run "deno task build:ffi"' }),
    ]),
    'run "deno task build:ffi"',
  );
  assert.equal(
    installHint([req("a", false, { apt: "p" }), req("b", false, { apt: "p" })]),
    'install with "apt-get install -y p"',
  );
});

Deno.test("onPath: an executable file in a PATH directory; not a plain file, a directory or an empty entry", async () => {
  await using t = await tempDir();
  await Deno.writeTextFile(`${t.path}/tool`, "#!/bin/sh\n", { mode: 0o755 });
  await Deno.writeTextFile(`${t.path}/data`, "", { mode: 0o644 });
  await Deno.mkdir(`${t.path}/dir`);
  assert.equal(onPath("tool", `/nonexistent::${t.path}`), true);
  assert.equal(onPath("data", t.path), false);
  assert.equal(onPath("dir", t.path), false);
  assert.equal(onPath("tool", ""), false);
});
