/**
 * The terminal shell of the full-screen TUI: alternate screen buffer, raw
 * mode, hidden cursor, no autowrap; frames are drawn by overwriting only the
 * lines that changed (never clearing, so no flicker), and everything is
 * restored by {@linkcode Screen.restore} (idempotent; also on dispose).
 *
 * @module
 */
import type { Size } from "./render.ts";

const ENTER = "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H";
const LEAVE = "\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l";
const SYNC_START = "\x1b[?2026h";
const SYNC_END = "\x1b[?2026l";

const encoder = new TextEncoder();

/** Where a screen writes and how it sizes itself (a terminal by default). */
export interface Terminal {
  /** Writes all bytes. */
  write(bytes: Uint8Array): void;
  /** Current size. */
  size(): Size;
  /** Turns raw mode on or off (no-op when not a terminal). */
  setRaw(on: boolean): void;
}

/**
 * The process's terminal: stdout for output, stdin for raw mode.
 *
 * @returns The terminal.
 */
export function processTerminal(): Terminal {
  return {
    write(bytes) {
      let off = 0;
      while (off < bytes.length) {
        off += Deno.stdout.writeSync(bytes.subarray(off));
      }
    },
    size() {
      try {
        const { columns, rows } = Deno.consoleSize();
        return { columns, rows };
      } catch {
        return { columns: 80, rows: 24 };
      }
    },
    setRaw(on) {
      if (Deno.stdin.isTerminal()) Deno.stdin.setRaw(on);
    },
  };
}

/** A full-screen session on a terminal. */
export class Screen {
  #term: Terminal;
  #prev: string[] = [];
  #active = false;

  /**
   * Enters full-screen mode.
   *
   * @param term The terminal (default: the process's).
   */
  constructor(term: Terminal = processTerminal()) {
    this.#term = term;
    this.#term.setRaw(true);
    this.#active = true;
    this.#term.write(encoder.encode(ENTER));
  }

  /** Whether the screen is still in full-screen mode. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Current terminal size.
   *
   * @returns Columns and rows.
   */
  size(): Size {
    return this.#term.size();
  }

  /** Forgets what is on screen so the next {@linkcode draw} rewrites every line. */
  invalidate(): void {
    this.#prev = [];
  }

  /**
   * Draws a frame, rewriting only lines that differ from the last frame.
   * Lines must already be padded to the terminal width.
   *
   * @param lines One string per terminal row.
   */
  draw(lines: string[]): void {
    if (!this.#active) return;
    let out = "";
    for (let i = 0; i < lines.length; i++) {
      if (this.#prev[i] === lines[i]) continue;
      out += `\x1b[${i + 1};1H${lines[i]}`;
    }
    this.#prev = lines.slice();
    if (out !== "") {
      this.#term.write(encoder.encode(SYNC_START + out + SYNC_END));
    }
  }

  /** Leaves full-screen mode and restores the terminal (idempotent). */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      this.#term.write(encoder.encode(LEAVE));
    } finally {
      this.#term.setRaw(false);
    }
  }

  /** Same as {@linkcode restore}. */
  [Symbol.dispose](): void {
    this.restore();
  }
}
