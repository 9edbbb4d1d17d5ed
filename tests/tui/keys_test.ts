import assert from "node:assert/strict";
import { actionFor, type Key, parseKeys } from "../../lib/tui/keys.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const sp = (name: string) => ({ kind: "special", name });
const ch = (char: string) => ({ kind: "char", char });

Deno.test("keys: arrows, pages, home/end in CSI and SS3 forms", () => {
  assert.deepEqual(parseKeys(enc("\x1b[A\x1b[B\x1b[C\x1b[D")), [
    sp("up"),
    sp("down"),
    sp("right"),
    sp("left"),
  ]);
  assert.deepEqual(parseKeys(enc("\x1bOA\x1bOB\x1bOH\x1bOF")), [
    sp("up"),
    sp("down"),
    sp("home"),
    sp("end"),
  ]);
  assert.deepEqual(parseKeys(enc("\x1b[5~\x1b[6~\x1b[1~\x1b[4~\x1b[H\x1b[F")), [
    sp("pageup"),
    sp("pagedown"),
    sp("home"),
    sp("end"),
    sp("home"),
    sp("end"),
  ]);
});

Deno.test("keys: control bytes, lone escape, unknown sequences, UTF-8", () => {
  assert.deepEqual(parseKeys(enc("\r\n\x7f\b\t\x03\x0c")), [
    sp("enter"),
    sp("enter"),
    sp("backspace"),
    sp("backspace"),
    sp("tab"),
    sp("ctrl-c"),
    sp("ctrl-l"),
  ]);
  assert.deepEqual(parseKeys(enc("\x1b")), [sp("escape")]);
  // F5 and a mouse-ish sequence are dropped; text after them survives.
  assert.deepEqual(parseKeys(enc("\x1b[15~\x1b[1;5Px")), [ch("x")]);
  assert.deepEqual(parseKeys(enc("é😀")), [ch("é"), ch("😀")]);
  // Other control bytes are ignored.
  assert.deepEqual(parseKeys(enc("\x01a")), [ch("a")]);
  // A truncated CSI at the end of a read is dropped.
  assert.deepEqual(parseKeys(enc("a\x1b[")), [ch("a")]);
});

Deno.test("keys: normal-mode actions", () => {
  const act = (k: Key) => actionFor(k, false);
  assert.deepEqual(act(ch("q") as Key), { type: "quit" });
  assert.deepEqual(act(sp("ctrl-c") as Key), { type: "quit" });
  assert.deepEqual(act(ch("j") as Key), { type: "move", rows: 1 });
  assert.deepEqual(act(sp("down") as Key), { type: "move", rows: 1 });
  assert.deepEqual(act(ch("k") as Key), { type: "move", rows: -1 });
  assert.deepEqual(act(sp("up") as Key), { type: "move", rows: -1 });
  assert.deepEqual(act(sp("pagedown") as Key), { type: "page", pages: 1 });
  assert.deepEqual(act(sp("pageup") as Key), { type: "page", pages: -1 });
  assert.deepEqual(act(ch(" ") as Key), { type: "page", pages: 1 });
  assert.deepEqual(act(sp("home") as Key), { type: "home" });
  assert.deepEqual(act(ch("G") as Key), { type: "end" });
  assert.deepEqual(act(ch("/") as Key), { type: "startFilter" });
  assert.deepEqual(act(ch("g") as Key), { type: "startGoto" });
  assert.deepEqual(act(ch("r") as Key), { type: "reload" });
  assert.deepEqual(act(sp("escape") as Key), { type: "cancel" });
  assert.deepEqual(act(sp("ctrl-l") as Key), { type: "redraw" });
  assert.deepEqual(act(ch("z") as Key), { type: "none" });
});

Deno.test("keys: typing mode sends text to the prompt; Ctrl-C still quits", () => {
  const act = (k: Key) => actionFor(k, true);
  assert.deepEqual(act(ch("q") as Key), { type: "input", text: "q" });
  assert.deepEqual(act(ch("/") as Key), { type: "input", text: "/" });
  assert.deepEqual(act(sp("enter") as Key), { type: "submit" });
  assert.deepEqual(act(sp("escape") as Key), { type: "cancel" });
  assert.deepEqual(act(sp("backspace") as Key), { type: "backspace" });
  assert.deepEqual(act(sp("ctrl-c") as Key), { type: "quit" });
  assert.deepEqual(act(sp("down") as Key), { type: "move", rows: 1 });
  assert.deepEqual(act(sp("tab") as Key), { type: "none" });
});
