/**
 * Manifest explorer state (pure): loaded rows, a `/` filter, a `g` goto-id
 * prompt, and a cursor with scrolling (j/k/arrows/PgUp/PgDn/Home/End).
 *
 * A filter matches a row when its location or decode hint contains the text
 * (case-insensitive), or when the text is exactly its sample_id. Filtering
 * updates as you type; Enter keeps it, Esc restores the previous one, Esc
 * outside a prompt clears it.
 *
 * @module
 */
import type { ManifestRow } from "../manifest/row.ts";
import type { Action } from "./keys.ts";

/** An open prompt at the bottom of the explorer. */
export interface Prompt {
  /** `filter` (opened with `/`) or `goto` (opened with `g`). */
  kind: "filter" | "goto";
  /** Text typed so far. */
  text: string;
  /** The filter in force when the prompt opened (restored on Esc). */
  previousFilter: string;
}

/** The explorer's state. Never mutated: every operation returns a new one. */
export interface ExplorerState {
  /** Loaded rows in sample_id order. */
  readonly rows: readonly ManifestRow[];
  /** The filter in force ("" = none). */
  readonly filter: string;
  /** Indices into `rows` that match the filter; undefined = all rows. */
  readonly matches?: Int32Array;
  /** Selected position within the visible (filtered) rows. */
  readonly cursor: number;
  /** First visible position (scroll offset). */
  readonly top: number;
  /** The open prompt, if any. */
  readonly prompt?: Prompt;
  /** A one-line message for the operator (e.g. goto result). */
  readonly message?: string;
}

/**
 * Returns an explorer over rows, with no filter and the cursor on the first row.
 *
 * @param rows Rows in sample_id order.
 * @returns The state.
 */
export function newExplorer(
  rows: readonly ManifestRow[] = [],
): ExplorerState {
  return { rows, filter: "", cursor: 0, top: 0 };
}

/**
 * Replaces the rows (e.g. after a reload), keeping the filter.
 *
 * @param s The state.
 * @param rows New rows in sample_id order.
 * @returns The new state, cursor on the first row.
 */
export function withRows(
  s: ExplorerState,
  rows: readonly ManifestRow[],
): ExplorerState {
  return applyFilter({ ...s, rows }, s.filter);
}

/**
 * Number of rows the filter lets through.
 *
 * @param s The state.
 * @returns Visible row count.
 */
export function visibleCount(s: ExplorerState): number {
  return s.matches ? s.matches.length : s.rows.length;
}

/**
 * The row at a visible position.
 *
 * @param s The state.
 * @param pos Position within the visible rows.
 * @returns The row, or undefined past the end.
 */
export function visibleRow(
  s: ExplorerState,
  pos: number,
): ManifestRow | undefined {
  if (pos < 0 || pos >= visibleCount(s)) return undefined;
  return s.rows[s.matches ? s.matches[pos] : pos];
}

/**
 * Whether a row matches a filter text (see the module doc).
 *
 * @param row A row.
 * @param needle Lower-cased filter text, non-empty.
 * @returns Whether it matches.
 */
export function rowMatches(row: ManifestRow, needle: string): boolean {
  return String(row.sampleId) === needle ||
    row.location.toLowerCase().includes(needle) ||
    (row.decodeHint?.toLowerCase().includes(needle) ?? false);
}

/**
 * Applies a filter and puts the cursor on the first match.
 *
 * @param s The state.
 * @param filter Filter text ("" = none).
 * @returns The new state.
 */
export function applyFilter(s: ExplorerState, filter: string): ExplorerState {
  if (filter === "") {
    return { ...s, filter, matches: undefined, cursor: 0, top: 0 };
  }
  const needle = filter.toLowerCase();
  const hits: number[] = [];
  for (let i = 0; i < s.rows.length; i++) {
    if (rowMatches(s.rows[i], needle)) hits.push(i);
  }
  return {
    ...s,
    filter,
    matches: Int32Array.from(hits),
    cursor: 0,
    top: 0,
  };
}

/**
 * Returns the scroll offset that keeps the cursor on a page of `page` rows,
 * moving as little as possible from `top`.
 *
 * @param cursor Selected position.
 * @param top Current scroll offset.
 * @param page Rows on screen (≥ 1).
 * @param count Visible rows.
 * @returns The new scroll offset.
 */
export function scrollTop(
  cursor: number,
  top: number,
  page: number,
  count: number,
): number {
  const p = Math.max(1, page);
  let t = Math.min(top, Math.max(0, count - p));
  if (cursor < t) t = cursor;
  if (cursor >= t + p) t = cursor - p + 1;
  return Math.max(0, t);
}

function moveTo(s: ExplorerState, pos: number, page: number): ExplorerState {
  const count = visibleCount(s);
  const cursor = Math.max(0, Math.min(pos, count - 1));
  return {
    ...s,
    cursor,
    top: scrollTop(cursor, s.top, page, count),
    message: undefined,
  };
}

function findPos(s: ExplorerState, id: number): number {
  const count = visibleCount(s);
  let lo = 0;
  let hi = count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const got = visibleRow(s, mid)!.sampleId;
    if (got === id) return mid;
    if (got < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Moves the cursor to a sample id, clearing the filter when it hides the row.
 *
 * @param s The state.
 * @param id Sample id.
 * @param page Rows on screen.
 * @returns The new state, with a message when the id is not loaded.
 */
export function gotoId(
  s: ExplorerState,
  id: number,
  page: number,
): ExplorerState {
  let pos = findPos(s, id);
  let state = s;
  let note: string | undefined;
  if (pos < 0 && s.filter !== "") {
    const all = applyFilter(s, "");
    pos = findPos(all, id);
    if (pos >= 0) {
      state = all;
      note = `filter "${s.filter}" cleared to show sample_id ${id}`;
    }
  }
  if (pos < 0) {
    const last = s.rows.length > 0
      ? s.rows[s.rows.length - 1].sampleId
      : undefined;
    return {
      ...s,
      message: last === undefined
        ? `sample_id ${id}: no manifest rows loaded`
        : `sample_id ${id} is not among the loaded rows (0..${last})`,
    };
  }
  return { ...moveTo(state, pos, page), message: note };
}

/**
 * Applies a key action to the explorer. `quit`, `reload` and `redraw` are
 * the caller's business and leave the state unchanged.
 *
 * @example Filter, then move
 * ```ts
 * import assert from "node:assert/strict";
 * import { newExplorer, reduceExplorer, visibleCount } from "./explorer.ts";
 * const rows = [
 *   { sampleId: 0, location: "cat/1.jpg" },
 *   { sampleId: 1, location: "dog/2.jpg" },
 *   { sampleId: 2, location: "cat/3.jpg" },
 * ];
 * let s = newExplorer(rows);
 * s = reduceExplorer(s, { type: "startFilter" }, 10);
 * for (const ch of "cat") s = reduceExplorer(s, { type: "input", text: ch }, 10);
 * s = reduceExplorer(s, { type: "submit" }, 10);
 * assert.equal(visibleCount(s), 2);
 * ```
 *
 * @param s The state.
 * @param action The action.
 * @param page Rows the explorer shows on screen (for paging and scrolling).
 * @returns The new state.
 */
export function reduceExplorer(
  s: ExplorerState,
  action: Action,
  page: number,
): ExplorerState {
  const p = Math.max(1, page);
  const prompt = s.prompt;
  switch (action.type) {
    case "move":
      return moveTo(s, s.cursor + action.rows, p);
    case "page":
      return moveTo(s, s.cursor + action.pages * p, p);
    case "home":
      return moveTo(s, 0, p);
    case "end":
      return moveTo(s, visibleCount(s) - 1, p);
    case "startFilter":
      return {
        ...s,
        prompt: { kind: "filter", text: s.filter, previousFilter: s.filter },
        message: undefined,
      };
    case "startGoto":
      return {
        ...s,
        prompt: { kind: "goto", text: "", previousFilter: s.filter },
        message: undefined,
      };
    case "input":
    case "backspace": {
      if (!prompt) return s;
      let text = action.type === "input"
        ? prompt.text + action.text
        : Array.from(prompt.text).slice(0, -1).join("");
      if (prompt.kind === "goto") text = text.replace(/[^0-9]/g, "");
      const next = { ...s, prompt: { ...prompt, text } };
      return prompt.kind === "filter" ? applyFilter(next, text) : next;
    }
    case "submit": {
      if (!prompt) return s;
      const closed = { ...s, prompt: undefined };
      if (prompt.kind === "filter") {
        return {
          ...closed,
          message: s.filter === ""
            ? undefined
            : `${visibleCount(s)} row(s) match "${s.filter}"`,
        };
      }
      if (prompt.text === "") return closed;
      return gotoId(closed, Number(prompt.text), p);
    }
    case "cancel": {
      if (!prompt) {
        return s.filter === ""
          ? { ...s, message: undefined }
          : { ...applyFilter(s, ""), message: "filter cleared" };
      }
      const closed = { ...s, prompt: undefined, message: undefined };
      return prompt.kind === "filter" && s.filter !== prompt.previousFilter
        ? applyFilter(closed, prompt.previousFilter)
        : closed;
    }
    default:
      return s;
  }
}
