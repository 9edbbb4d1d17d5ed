import assert from "node:assert/strict";
import { Mx8Error } from "../../lib/errors.ts";
import { planLabels } from "../../lib/pack/label_mode.ts";

const IMAGEFOLDER = ["cat/1.jpg", "cat/2.jpg", "dog/1.jpg", "ému/1.jpg"];

Deno.test("planLabels: ImageFolder layout gets byte-ordered label ids", () => {
  for (const mode of ["auto", "imagefolder"] as const) {
    const plan = planLabels(IMAGEFOLDER, mode)!;
    assert.deepEqual(plan.labels, ["cat", "dog", "ému"]);
    assert.deepEqual([...plan.labelIds], [0, 0, 1, 2]);
  }
  assert.equal(planLabels(IMAGEFOLDER, "none"), null);
});

Deno.test("planLabels: auto labels only with ≥ 2 classes, every file one level deep", () => {
  assert.equal(planLabels(["cat/1.jpg", "cat/2.jpg"], "auto"), null);
  assert.equal(planLabels(["cat/1.jpg", "top.jpg"], "auto"), null);
  assert.equal(planLabels(["cat/1.jpg", "dog/x/2.jpg"], "auto"), null);
  assert.equal(planLabels(["1.jpg", "2.jpg"], "auto"), null);
});

Deno.test("planLabels: imagefolder names the first file not at <class>/<file>", () => {
  assert.throws(
    () => planLabels(["cat/1.jpg", "dog/x/2.jpg", "top.jpg"], "imagefolder"),
    (err) =>
      err instanceof Mx8Error &&
      /needs every file at <class>\/<file>, but "dog\/x\/2\.jpg" is nested deeper/
        .test(err.message),
  );
  assert.throws(
    () => planLabels(["a.jpg"], "imagefolder"),
    /"a\.jpg" is not inside a class folder/,
  );
  // A single class is fine when asked for explicitly.
  assert.deepEqual(planLabels(["cat/1.jpg"], "imagefolder")?.labels, ["cat"]);
});
