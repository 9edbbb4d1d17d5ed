/**
 * Labels pinned by manifest hash never change: `labels/<H>` in the
 * manifest store is write-once, and a repack that renames class folders
 * (same rows, so the same H) is refused with an error saying so.
 */
import assert from "node:assert/strict";
import { lastLine, runMx8 } from "../_helpers/mx8.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

Deno.test("mx8 resolve: renaming class folders and repacking never changes the class names of a pinned manifest", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  const env = { MX8_MANIFEST_STORE: st.path };
  await writeTree(src.path, { "cat/1.jpg": "one", "dog/2.jpg": "two" });
  const first = await runMx8(["pack", "--in", src.path, "--out", dst.path]);
  assert.equal(first.code, 0, first.stderr);
  const r1 = await runMx8(["resolve", dst.path], env);
  assert.equal(r1.code, 0, r1.stderr);
  const h = /manifest_hash=([0-9a-f]{64})/.exec(lastLine(r1.stdout))![1];
  const recorded = await Deno.readTextFile(`${st.path}/labels/${h}`);
  assert.match(recorded, /\tcat\n/);

  // "ant" sorts where "cat" did: same label ids, same rows, same hash.
  await Deno.rename(`${src.path}/cat`, `${src.path}/ant`);
  const second = await runMx8([
    "pack",
    "--in",
    src.path,
    "--out",
    dst.path,
    "--overwrite",
  ]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`manifest_hash=${h}`));

  const r2 = await runMx8(["resolve", `${dst.path}@refresh`], env);
  assert.equal(r2.code, 1, r2.stdout);
  assert.match(
    r2.stderr,
    new RegExp(
      `labels\\.tsv names other classes than the labels recorded with manifest sha256:${h} .*Pack to a new --out`,
    ),
  );
  assert.equal(r2.stderr.trim().split("\n").length, 1, r2.stderr);
  // What the pinned hash means is unchanged.
  assert.equal(await Deno.readTextFile(`${st.path}/labels/${h}`), recorded);

  // The same names again are fine (write-once, same bytes).
  await Deno.rename(`${src.path}/ant`, `${src.path}/cat`);
  const third = await runMx8([
    "pack",
    "--in",
    src.path,
    "--out",
    dst.path,
    "--overwrite",
  ]);
  assert.equal(third.code, 0, third.stderr);
  const r3 = await runMx8(["resolve", `${dst.path}@refresh`], env);
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(lastLine(r3.stdout), `manifest_hash=${h} samples=2`);
});
