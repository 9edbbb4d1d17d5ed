/**
 * Turns a mix that can no longer move into an error. A sample mix holds one
 * batch of every source its next mixed batch draws from; when the budget
 * cannot hold them all (the static check counts decoded tensors, not the
 * compressed bytes or decode working memory the sources reserve with them),
 * the source the mix waits for can never be granted its bytes: nothing is
 * released until the mixed batch is made. The watch reports that state once
 * it has held, with nothing reserved or released, for `quietMs`.
 *
 * @module
 */

/** What a blocked mix waits for. */
export interface Stall {
  /** The source whose batch cannot be granted. */
  source: string;
  /** Bytes that batch asks for. */
  needBytes: number;
  /** Bytes reserved now. */
  usedBytes: number;
  /** The cap. */
  capBytes: number;
}

/** What the watch looks at. */
export interface StallProbe {
  /** The blocked source, or undefined when the mix may still move. */
  blocked(): Stall | undefined;
  /** Changes on every reservation and release. */
  activity(): number;
}

/**
 * Watches the mix while its consumer waits; calls `onStall` (once) when the
 * probe reports the same blocked state, with no budget activity, for
 * `quietMs`.
 *
 * @param probe The mix's state.
 * @param onStall Called with the stall.
 * @param quietMs How long the state must hold (default 1 s).
 * @returns Stops watching.
 *
 * @example
 * ```ts
 * import { watchStall } from "./stall_watch.ts";
 * const stall = { source: "a", needBytes: 9, usedBytes: 8, capBytes: 10 };
 * const seen = await new Promise((resolve) => {
 *   watchStall({ blocked: () => stall, activity: () => 0 }, resolve, 20);
 * });
 * if (seen !== stall) throw new Error("not reported");
 * ```
 */
export function watchStall(
  probe: StallProbe,
  onStall: (s: Stall) => void,
  quietMs = 1000,
): () => void {
  const tickMs = Math.max(5, Math.floor(quietMs / 4));
  let since = -1, activity = NaN;
  const id = setInterval(() => {
    const s = probe.blocked();
    const now = performance.now(), a = probe.activity();
    if (!s || a !== activity) {
      activity = a;
      since = s ? now : -1;
      return;
    }
    if (since < 0) since = now;
    if (now - since < quietMs) return;
    clearInterval(id);
    onStall(s);
  }, tickMs);
  return () => clearInterval(id);
}
