import assert from "node:assert/strict";
import type { ManifestRow } from "../../lib/manifest/row.ts";
import {
  type ExplorerState,
  gotoId,
  newExplorer,
  reduceExplorer,
  scrollTop,
  visibleCount,
  visibleRow,
  withRows,
} from "../../lib/tui/explorer.ts";
import type { Action } from "../../lib/tui/keys.ts";

function rows(n: number): ManifestRow[] {
  return Array.from({ length: n }, (_, i) => ({
    sampleId: i,
    location: `${i % 2 ? "dog" : "cat"}/${String(i).padStart(4, "0")}.JPG`,
    byteOffset: i * 10,
    byteLength: 10,
    decodeHint: `mx8:vision:imagefolder;label_id=${i % 2}`,
  }));
}

function run(s: ExplorerState, actions: Action[], page = 10): ExplorerState {
  for (const a of actions) s = reduceExplorer(s, a, page);
  return s;
}

function type(text: string): Action[] {
  return Array.from(text, (t) => ({ type: "input", text: t }) as Action);
}

const selected = (s: ExplorerState) => visibleRow(s, s.cursor)?.sampleId;

Deno.test("explorer: j/k and arrows move one row, clamped at both ends", () => {
  let s = newExplorer(rows(5));
  s = run(s, [{ type: "move", rows: -1 }]);
  assert.equal(selected(s), 0);
  s = run(s, Array(7).fill({ type: "move", rows: 1 }));
  assert.equal(selected(s), 4);
  s = run(s, [{ type: "home" }]);
  assert.equal(selected(s), 0);
  s = run(s, [{ type: "end" }]);
  assert.equal(selected(s), 4);
});

Deno.test("explorer: PgDn/PgUp move a page and scroll keeps the cursor visible", () => {
  let s = newExplorer(rows(100));
  s = run(s, [{ type: "page", pages: 1 }], 10);
  assert.equal(selected(s), 10);
  assert.equal(s.top, 1, "cursor on the last visible line");
  s = run(s, [{ type: "page", pages: 1 }, { type: "page", pages: 1 }], 10);
  assert.equal(selected(s), 30);
  assert.equal(s.top, 21);
  s = run(s, [{ type: "page", pages: -1 }], 10);
  assert.equal(selected(s), 20);
  assert.equal(s.top, 20);
  s = run(s, Array(20).fill({ type: "page", pages: 1 }), 10);
  assert.equal(selected(s), 99);
  assert.equal(s.top, 90);
  s = run(s, [{ type: "page", pages: -100 }], 10);
  assert.equal(selected(s), 0);
  assert.equal(s.top, 0);
});

Deno.test("explorer: scrollTop moves as little as possible", () => {
  assert.equal(scrollTop(5, 0, 10, 100), 0);
  assert.equal(scrollTop(15, 0, 10, 100), 6);
  assert.equal(scrollTop(3, 6, 10, 100), 3);
  // A taller screen after a resize pulls the window back.
  assert.equal(scrollTop(99, 95, 20, 100), 80);
  assert.equal(scrollTop(0, 0, 0, 0), 0);
});

Deno.test("explorer: / filters as you type (case-insensitive), Enter keeps it", () => {
  let s = newExplorer(rows(20));
  s = run(s, [{ type: "startFilter" }, ...type("DOG/001")]);
  assert.equal(s.prompt?.text, "DOG/001");
  assert.deepEqual(
    Array.from(
      { length: visibleCount(s) },
      (_, i) => visibleRow(s, i)!.sampleId,
    ),
    [11, 13, 15, 17, 19],
  );
  s = run(s, [{ type: "submit" }]);
  assert.equal(s.prompt, undefined);
  assert.equal(s.filter, "DOG/001");
  assert.equal(s.message, '5 row(s) match "DOG/001"');
  s = run(s, [{ type: "move", rows: 2 }]);
  assert.equal(selected(s), 15);
  // The decode hint and the exact sample id match too.
  s = run(s, [{ type: "startFilter" }, { type: "backspace" }]);
  assert.equal(s.prompt?.text, "DOG/00");
  s = run(s, [{ type: "cancel" }]);
  assert.equal(s.filter, "DOG/001", "Esc restores the previous filter");
  s = run(newExplorer(rows(20)), [
    { type: "startFilter" },
    ...type("label_id=1"),
    { type: "submit" },
  ]);
  assert.equal(visibleCount(s), 10);
  // "7" is sample 7 exactly, and a substring of dog/0017.JPG.
  s = run(newExplorer(rows(20)), [{ type: "startFilter" }, ...type("7"), {
    type: "submit",
  }]);
  assert.deepEqual([visibleCount(s), selected(s)], [2, 7]);
  const plain = [{ sampleId: 0, location: "a" }, {
    sampleId: 1,
    location: "b",
  }];
  s = run(newExplorer(plain), [{ type: "startFilter" }, ...type("1"), {
    type: "submit",
  }]);
  assert.deepEqual([visibleCount(s), selected(s)], [1, 1]);
});

Deno.test("explorer: Esc outside a prompt clears the filter; no match shows nothing", () => {
  let s = run(newExplorer(rows(20)), [
    { type: "startFilter" },
    ...type("zebra"),
    { type: "submit" },
  ]);
  assert.equal(visibleCount(s), 0);
  assert.equal(selected(s), undefined);
  s = run(s, [{ type: "move", rows: 1 }, { type: "end" }]);
  assert.equal(visibleCount(s), 0);
  s = run(s, [{ type: "cancel" }]);
  assert.equal(s.filter, "");
  assert.equal(visibleCount(s), 20);
  assert.equal(s.message, "filter cleared");
});

Deno.test("explorer: g goes to a sample id, only digits are typed", () => {
  let s = newExplorer(rows(1000));
  s = run(s, [{ type: "startGoto" }, ...type("5x7"), { type: "submit" }], 10);
  assert.equal(selected(s), 57);
  assert.equal(s.top, 48);
  assert.equal(s.prompt, undefined);
  // Empty goto just closes; Esc cancels.
  s = run(s, [{ type: "startGoto" }, { type: "submit" }]);
  assert.equal(selected(s), 57);
  s = run(s, [{ type: "startGoto" }, ...type("3"), { type: "cancel" }]);
  assert.equal(selected(s), 57);
});

Deno.test("explorer: goto clears a filter that hides the id, and reports ids not loaded", () => {
  let s = run(newExplorer(rows(100)), [
    { type: "startFilter" },
    ...type("cat/"),
    { type: "submit" },
  ]);
  s = run(s, [{ type: "startGoto" }, ...type("42"), { type: "submit" }]);
  assert.equal(selected(s), 42, "even id visible through the filter");
  assert.equal(s.filter, "cat/");
  s = run(s, [{ type: "startGoto" }, ...type("43"), { type: "submit" }]);
  assert.equal(selected(s), 43);
  assert.equal(s.filter, "");
  assert.match(s.message!, /filter "cat\/" cleared to show sample_id 43/);
  s = gotoId(s, 5000, 10);
  assert.equal(selected(s), 43);
  assert.equal(
    s.message,
    "sample_id 5000 is not among the loaded rows (0..99)",
  );
  assert.match(
    gotoId(newExplorer(), 1, 10).message!,
    /no manifest rows loaded/,
  );
});

Deno.test("explorer: new rows keep the filter", () => {
  let s = run(newExplorer(), [{ type: "startFilter" }, ...type("dog"), {
    type: "submit",
  }]);
  assert.equal(visibleCount(s), 0);
  s = withRows(s, rows(10));
  assert.equal(visibleCount(s), 5);
  assert.equal(selected(s), 1);
});
