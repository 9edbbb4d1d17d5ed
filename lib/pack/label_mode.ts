/**
 * ImageFolder labels for pack: `<class>/<file>` layouts get one label per
 * class directory (spec §3).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";
import { assignLabelIds } from "../manifest/labels.ts";
import type { FileList } from "./file_list.ts";

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
 * @param files Relative paths (`/`-separated), or a file list.
 * @param mode Label mode.
 * @returns The labels, or `null` when samples are not labelled.
 * @throws {Mx8Error} In `imagefolder` mode, naming the first file that is not
 * `<class>/<file>`.
 */
export function planLabels(
  files: readonly string[] | FileList,
  mode: LabelMode,
): LabelPlan | null {
  if (mode === "none") return null;
  // One string per class, a small id per file: per-file class strings would
  // all live until the end of planning (and grow the young generation).
  const firstSeen = new Map<string, number>();
  const n = files.length;
  const relOf = Array.isArray(files)
    ? (i: number) => (files as readonly string[])[i]
    : (i: number) => (files as FileList).rel(i);
  const seenIds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rel = relOf(i);
    const c = classOf(rel);
    if (c === undefined) {
      if (mode === "auto") return null;
      throw new Mx8Error(
        `--label-mode imagefolder needs every file at <class>/<file>, but "${rel}" is ${
          rel.includes("/") ? "nested deeper" : "not inside a class folder"
        }: fix the layout or use --label-mode auto|none`,
      );
    }
    let id = firstSeen.get(c);
    if (id === undefined) firstSeen.set(c, id = firstSeen.size);
    seenIds[i] = id;
  }
  const seen = [...firstSeen.keys()];
  const labels = assignLabelIds(seen);
  if (mode === "auto" && labels.length < 2) return null;
  const idOf = new Map(labels.map((l, i) => [l, i]));
  const remap = Int32Array.from(seen, (c) => idOf.get(c)!);
  const labelIds = new Int32Array(n);
  for (let i = 0; i < n; i++) labelIds[i] = remap[seenIds[i]];
  return { labels, labelIds };
}
