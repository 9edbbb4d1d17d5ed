/**
 * Lines of a byte stream, read ahead so the end of input is noticed at once
 * (the bridge's consumer died) even while the reader is busy elsewhere.
 *
 * @module
 */

/** A queue of the text lines of a stream. */
export class LineQueue {
  #lines: string[] = [];
  #waiters: ((line: string | null) => void)[] = [];
  #ended = false;
  #onEnd: () => void;

  /**
   * Starts reading `input`.
   *
   * @param input UTF-8 text, LF-separated lines.
   * @param onEnd Called once when the input ends (or fails).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LineQueue } from "./lines.ts";
   * const q = new LineQueue(ReadableStream.from([new TextEncoder().encode("a\nb")]), () => {});
   * assert.equal(await q.next(), "a");
   * assert.equal(await q.next(), "b");
   * assert.equal(await q.next(), null);
   * ```
   */
  constructor(input: ReadableStream<Uint8Array>, onEnd: () => void) {
    this.#onEnd = onEnd;
    this.#pump(input);
  }

  async #pump(input: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let rest = "";
    try {
      for await (const chunk of input) {
        rest += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          this.#push(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
      }
      rest += dec.decode();
      if (rest !== "") this.#push(rest);
    } catch {
      // a broken pipe ends the input like EOF
    }
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w(null);
    this.#onEnd();
  }

  #push(line: string): void {
    const w = this.#waiters.shift();
    if (w) w(line);
    else this.#lines.push(line);
  }

  /** Lines read but not yet taken. */
  get queued(): number {
    return this.#lines.length;
  }

  /** Whether the input has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * The next line.
   *
   * @returns The line without its LF, or `null` at the end of input.
   */
  next(): Promise<string | null> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
