/**
 * Terminal key bytes → keys → TUI actions (pure).
 *
 * Normal mode: `q`/Ctrl-C quit, `j`/`k`/↓/↑ move one row, PgDn/PgUp (also
 * space/`b`) one page, Home/End (also `G` for the end) jump, `/` starts a
 * filter, `g` starts a goto-id prompt, `r` reloads the manifest, Ctrl-L
 * redraws. While typing a filter or an id: printable characters are input,
 * Backspace deletes, Enter submits, Esc cancels, Ctrl-C still quits.
 *
 * @module
 */

/** Keys that are not printable characters. */
export type SpecialKey =
  | "up"
  | "down"
  | "left"
  | "right"
  | "pageup"
  | "pagedown"
  | "home"
  | "end"
  | "enter"
  | "escape"
  | "backspace"
  | "tab"
  | "ctrl-c"
  | "ctrl-l";

/** One decoded key press. */
export type Key =
  | { kind: "char"; char: string }
  | { kind: "special"; name: SpecialKey };

/** What a key press asks the TUI to do. */
export type Action =
  | { type: "quit" }
  | { type: "move"; rows: number }
  | { type: "page"; pages: number }
  | { type: "home" }
  | { type: "end" }
  | { type: "startFilter" }
  | { type: "startGoto" }
  | { type: "input"; text: string }
  | { type: "backspace" }
  | { type: "submit" }
  | { type: "cancel" }
  | { type: "reload" }
  | { type: "redraw" }
  | { type: "none" };

const CSI_KEYS: Record<string, SpecialKey> = {
  "A": "up",
  "B": "down",
  "C": "right",
  "D": "left",
  "H": "home",
  "F": "end",
  "1~": "home",
  "7~": "home",
  "4~": "end",
  "8~": "end",
  "5~": "pageup",
  "6~": "pagedown",
};

const SS3_KEYS: Record<string, SpecialKey> = {
  "A": "up",
  "B": "down",
  "C": "right",
  "D": "left",
  "H": "home",
  "F": "end",
};

const decoder = new TextDecoder();

/**
 * Decodes the bytes of one read from a raw-mode terminal into keys. Unknown
 * escape sequences are dropped; a lone ESC is the Escape key.
 *
 * @example Arrows and text
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKeys } from "./keys.ts";
 * const keys = parseKeys(new TextEncoder().encode("\x1b[Bq"));
 * assert.deepEqual(keys, [
 *   { kind: "special", name: "down" },
 *   { kind: "char", char: "q" },
 * ]);
 * ```
 *
 * @param bytes Bytes read from stdin.
 * @returns The keys, in order.
 */
export function parseKeys(bytes: Uint8Array): Key[] {
  const text = decoder.decode(bytes);
  const keys: Key[] = [];
  let i = 0;
  const special = (name: SpecialKey) => keys.push({ kind: "special", name });
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\x1b") {
      const next = text[i + 1];
      if (next === "[") {
        // CSI: parameter bytes 0x30–0x3f, intermediates 0x20–0x2f, final 0x40–0x7e.
        let j = i + 2;
        while (j < text.length && /[\x20-\x3f]/.test(text[j])) j++;
        if (j >= text.length) {
          i = j; // truncated sequence: drop it
          continue;
        }
        const body = text.slice(i + 2, j + 1);
        const name = CSI_KEYS[body];
        if (name) special(name);
        i = j + 1;
        continue;
      }
      if (next === "O" && i + 2 < text.length) {
        const name = SS3_KEYS[text[i + 2]];
        if (name) special(name);
        i += 3;
        continue;
      }
      special("escape");
      i++;
      continue;
    }
    i++;
    if (ch === "\r" || ch === "\n") special("enter");
    else if (ch === "\x7f" || ch === "\b") special("backspace");
    else if (ch === "\t") special("tab");
    else if (ch === "\x03") special("ctrl-c");
    else if (ch === "\x0c") special("ctrl-l");
    else if (ch >= " ") {
      // Keep a surrogate pair together.
      const code = ch.charCodeAt(0);
      if (code >= 0xd800 && code <= 0xdbff && i < text.length) {
        keys.push({ kind: "char", char: ch + text[i] });
        i++;
      } else {
        keys.push({ kind: "char", char: ch });
      }
    }
  }
  return keys;
}

const NAV: Partial<Record<SpecialKey, Action>> = {
  up: { type: "move", rows: -1 },
  down: { type: "move", rows: 1 },
  pageup: { type: "page", pages: -1 },
  pagedown: { type: "page", pages: 1 },
  home: { type: "home" },
  end: { type: "end" },
};

/**
 * Maps a key to an action.
 *
 * @example Normal mode and input mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { actionFor } from "./keys.ts";
 * assert.deepEqual(actionFor({ kind: "char", char: "q" }, false), { type: "quit" });
 * assert.deepEqual(actionFor({ kind: "char", char: "q" }, true), { type: "input", text: "q" });
 * ```
 *
 * @param key The key.
 * @param typing Whether a filter or goto prompt is open.
 * @returns The action (`none` for keys without one).
 */
export function actionFor(key: Key, typing: boolean): Action {
  if (key.kind === "special") {
    if (key.name === "ctrl-c") return { type: "quit" };
    if (key.name === "ctrl-l") return { type: "redraw" };
    if (typing) {
      if (key.name === "enter") return { type: "submit" };
      if (key.name === "escape") return { type: "cancel" };
      if (key.name === "backspace") return { type: "backspace" };
      return NAV[key.name] ?? { type: "none" };
    }
    if (key.name === "escape") return { type: "cancel" };
    return NAV[key.name] ?? { type: "none" };
  }
  if (typing) return { type: "input", text: key.char };
  switch (key.char) {
    case "q":
      return { type: "quit" };
    case "j":
      return { type: "move", rows: 1 };
    case "k":
      return { type: "move", rows: -1 };
    case " ":
      return { type: "page", pages: 1 };
    case "b":
      return { type: "page", pages: -1 };
    case "G":
      return { type: "end" };
    case "/":
      return { type: "startFilter" };
    case "g":
      return { type: "startGoto" };
    case "r":
      return { type: "reload" };
    default:
      return { type: "none" };
  }
}
