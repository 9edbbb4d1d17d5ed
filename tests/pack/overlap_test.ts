import assert from "node:assert/strict";
import { canonicalRoot, checkOverlap } from "../../lib/pack/overlap.ts";
import { tempDir } from "../_helpers/tmp.ts";

Deno.test("checkOverlap: allowed pairs", () => {
  checkOverlap("/data/raw", "/data/raw");
  checkOverlap("/data/raw", "/data/raw/");
  checkOverlap("/data/raw", "/data/packed");
  checkOverlap("/data/raw", "/data/raw2");
  checkOverlap("/data/raw", "/data");
  checkOverlap("s3://b/raw", "s3://b/raw-packed");
  checkOverlap("s3://b/raw", "s3://c/raw/x");
  checkOverlap("s3://b/raw", "/b/raw/x");
});

Deno.test("checkOverlap: DST inside SRC, or SRC inside DST/shards or DST/_mx8", () => {
  assert.throws(
    () => checkOverlap("/data", "/data/packed"),
    /--out \/data\/packed is inside --in \/data/,
  );
  assert.throws(() => checkOverlap("s3://b", "s3://b/p"), /is inside --in/);
  assert.throws(() => checkOverlap("s3://b/a", "s3://b/a/b"), /is inside/);
  assert.throws(
    () => checkOverlap("/d/shards/x", "/d"),
    /--in \/d\/shards\/x is inside \/d\/shards\/ or \/d\/_mx8\//,
  );
  assert.throws(() => checkOverlap("s3://b/p/_mx8", "s3://b/p"), /overwrites/);
});

Deno.test("canonicalRoot: resolves symlinks of existing parents", async () => {
  await using t = await tempDir();
  const real = await Deno.realPath(t.path);
  await Deno.mkdir(`${t.path}/real`);
  await Deno.symlink(`${t.path}/real`, `${t.path}/link`);
  assert.equal(await canonicalRoot(`${t.path}/link/`), `${real}/real`);
  assert.equal(
    await canonicalRoot(`${t.path}/link/new/deeper`),
    `${real}/real/new/deeper`,
  );
  assert.equal(await canonicalRoot("s3://b/p/"), "s3://b/p");
  assert.throws(
    () => checkOverlap(`${real}/real`, `${real}/real/out`),
    /inside/,
  );
});
