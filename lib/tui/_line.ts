/**
 * Styled text lines for the renderer: segments with SGR styles, cut or padded
 * to an exact width so every frame line fills the terminal row.
 *
 * @module
 */
import { printable } from "./_format.ts";

/** SGR parameters of each style. */
export const SGR = {
  bold: "1",
  dim: "2",
  inverse: "7",
  red: "31",
  green: "32",
  yellow: "33",
  cyan: "36",
  redBold: "1;31",
  yellowBold: "1;33",
  greenBold: "1;32",
  alert: "1;97;41",
  title: "1;97;44",
} as const;

/** A named style. */
export type Style = keyof typeof SGR;

/** A run of text in one style. */
export interface Seg {
  /** The text (already printable). */
  text: string;
  /** Its style, if any. */
  style?: Style;
}

/** A line under construction: styled segments cut or padded to a width. */
export class Line {
  /** Segments so far. */
  readonly segs: Seg[] = [];
  /** Style of the padding (and of unstyled segments). */
  fill?: Style;
  /**
   * Starts an empty line.
   *
   * @param fill Style of the padding and of unstyled segments.
   */
  constructor(fill?: Style) {
    this.fill = fill;
  }
  /**
   * Appends text; control characters are replaced.
   *
   * @param text Text.
   * @param style Style.
   * @returns This line.
   */
  add(text: string, style?: Style): this {
    this.segs.push({ text: printable(text), style });
    return this;
  }
  /**
   * Renders the line exactly `width` cells wide.
   *
   * @param width Cells.
   * @param color Emit SGR sequences.
   * @returns The text.
   */
  toString(width: number, color: boolean): string {
    let out = "";
    let used = 0;
    const open = (s?: Style) => color && s ? `\x1b[${SGR[s]}m` : "";
    const close = (s?: Style) => color && s ? "\x1b[0m" : "";
    for (const seg of this.segs) {
      if (used >= width) break;
      const chars = Array.from(seg.text);
      const take = chars.slice(0, width - used);
      used += take.length;
      const style = seg.style ?? this.fill;
      out += open(style) + take.join("") + close(style);
    }
    if (used < width) {
      out += open(this.fill) + " ".repeat(width - used) + close(this.fill);
    }
    return out;
  }
}

/** A key=value (or other small unit) that is never split across lines. */
export type Item = Seg[];

/** A ` key=value` item. */
export function kv(k: string, val: string | number, style?: Style): Item {
  return [{ text: ` ${k}=`, style: "dim" }, {
    text: printable(String(val)),
    style,
  }];
}

/** Cells an item takes. */
export function itemWidth(it: Item): number {
  return it.reduce((n, s) => n + Array.from(s.text).length, 0);
}

/** Flows items into lines of at most `width` cells. */
export function wrap(items: Item[], width: number): Item[][] {
  const lines: Item[][] = [[]];
  let used = 0;
  for (const it of items) {
    const n = itemWidth(it);
    if (used > 0 && used + n > width) {
      lines.push([]);
      used = 0;
    }
    lines[lines.length - 1].push(it);
    used += n;
  }
  return lines;
}

/** A section header line: `── Title extra ────…`. */
export function section(title: string, extra = ""): Line {
  const l = new Line().add(`── ${title} `, "bold");
  if (extra) l.add(extra + " ", "dim");
  return l.add("─".repeat(200), "dim");
}
