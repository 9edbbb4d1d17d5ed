/**
 * ImageFolder labels for pack: `<class>/<file>` layouts get one label per
 * class directory (spec §3).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import { assignLabelIds } from "../manifest/labels.ts";

/**
 * How pack labels samples:
 * - `auto`: label by class directory when every file is `<class>/<file>` and
 *   there are at least 2 classes, else no labels;
 * - `imagefolder`: every file must be `<class>/<file>`;
 * - `none`: no labels.
 */
export type LabelMode = "auto" | "imagefolder" | "none";

/** Every label mode, for flag validation. */
export const LABEL_MODES: readonly LabelMode[] = [
  "auto",
  "imagefolder",
  "none",
];

/** Labels chosen for a file list. */
export interface LabelPlan {
  /** Label names; a name's index is its label id. */
  labels: string[];
  /** Label id of each file, in file order. */
  labelIds: Int32Array;
}

/** Class directory of `<class>/<file>`, or undefined for any other depth. */
function classOf(rel: string): string | undefined {
  const slash = rel.indexOf("/");
  if (slash <= 0 || rel.indexOf("/", slash + 1) >= 0) return undefined;
  return rel.slice(0, slash);
}

/**
 * Decides labels for files sorted by relative path.
 *
 * @example ImageFolder layout
 * ```ts
 * import assert from "node:assert/strict";
 * import { planLabels } from "./label_mode.ts";
 * const plan = planLabels(["cat/1.jpg", "dog/2.jpg"], "auto");
 * assert.deepEqual(plan?.labels, ["cat", "dog"]);
 * assert.deepEqual([...plan!.labelIds], [0, 1]);
 * assert.equal(planLabels(["a.jpg", "b.jpg"], "auto"), null);
 * ```
 *
 * @param rels `/`-separated relative paths.
 * @param mode Label mode.
 * @returns The labels, or `null` when samples are not labelled.
 * @throws {Mx8Error} In `imagefolder` mode, naming the first file that is not
 * `<class>/<file>`.
 */
export function planLabels(
  rels: readonly string[],
  mode: LabelMode,
): LabelPlan | null {
  if (mode === "none") return null;
  const classes: string[] = new Array(rels.length);
  for (let i = 0; i < rels.length; i++) {
    const c = classOf(rels[i]);
    if (c === undefined) {
      if (mode === "auto") return null;
      throw new Mx8Error(
        `--label-mode imagefolder needs every file at <class>/<file>, but "${
          rels[i]
        }" is ${
          rels[i].includes("/") ? "nested deeper" : "not inside a class folder"
        }: fix the layout or use --label-mode auto|none`,
      );
    }
    classes[i] = c;
  }
  const labels = assignLabelIds(classes);
  if (mode === "auto" && labels.length < 2) return null;
  const idOf = new Map(labels.map((l, i) => [l, i]));
  const labelIds = new Int32Array(rels.length);
  for (let i = 0; i < rels.length; i++) labelIds[i] = idOf.get(classes[i])!;
  return { labels, labelIds };
}
