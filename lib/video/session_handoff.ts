/**
 * Hands a video's decode session (and the budget bytes it holds) from one
 * batch to the next batch that reads the same video, so the decoder stays
 * open across the batches of a video: the next batch goes on decoding
 * forward instead of seeking back to a keyframe and decoding its GOP
 * lead-in again. Batches claim in plan order, when they are built
 * (synchronously), so each batch knows before reserving anything whether a
 * session comes to it; the session itself arrives when the batch before
 * has finished its pass.
 *
 * @module
 */

import type { ByteBudget } from "../loader/byte_budget.ts";
import type { ClipSession } from "./clip_decoder.ts";

/** A video's session and the budget bytes that travel with it. */
export interface HeldSession {
  /** The open session (absent when the batch before failed to open one). */
  session?: ClipSession;
  /** Bytes reserved for it: the video's bytes, decoder memory, kept frames. */
  bytes: number;
}

/** What a batch gets from {@linkcode SessionHandoffs.claim}. */
export interface SessionClaim {
  /** The session the batch before passes on (undefined: none comes). */
  from?: Promise<HeldSession | undefined>;
  /** Whether the next batch reads this video too (the session goes on to it). */
  keep: boolean;
  /**
   * Passes the session on (with `keep`) or frees it and its bytes. Call
   * exactly once, also on failure (`undefined`: nothing to pass on).
   */
  done(held: HeldSession | undefined): void;
}

/**
 * The sessions on their way from one batch to the next, per video.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteBudget } from "../loader/byte_budget.ts";
 * import { SessionHandoffs } from "./session_handoff.ts";
 * const budget = new ByteBudget(1024);
 * const handoffs = new SessionHandoffs(budget);
 * await budget.acquire(100);
 * const first = handoffs.claim(0, true, 100);
 * assert.equal(first.from, undefined);
 * first.done({ bytes: 100 });
 * assert.equal(handoffs.waitingBytes(0), 100);
 * const second = handoffs.claim(0, false);
 * assert.equal((await second.from)?.bytes, 100);
 * second.done(await second.from); // last batch of the video: freed
 * assert.equal(budget.usedBytes, 0);
 * ```
 */
export class SessionHandoffs {
  readonly #budget: ByteBudget;
  readonly #pending = new Map<number, Promise<HeldSession | undefined>>();
  readonly #bytes = new Map<number, number>();

  /** @param budget The loader's byte budget (the held bytes return to it). */
  constructor(budget: ByteBudget) {
    this.#budget = budget;
  }

  /** Videos whose session waits for a next batch. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * The bytes held by the session coming to the next batch that claims
   * `video` (0: none comes).
   *
   * @param video The video's sample id (unique across plans and leases).
   * @returns Bytes.
   */
  waitingBytes(video: number): number {
    return this.#bytes.get(video) ?? 0;
  }

  /**
   * Claims video `video`'s session for the batch being built now.
   *
   * @param video The video's sample id (unique across plans and leases).
   * @param keep Whether the session goes on to the next batch.
   * @param bytes The bytes it will hold then (those it came with, or
   *   those this batch reserves for it).
   * @returns Where the session comes from and how to pass it on.
   */
  claim(video: number, keep: boolean, bytes = 0): SessionClaim {
    const from = this.#pending.get(video);
    this.#pending.delete(video);
    this.#bytes.delete(video);
    let pass = (held: HeldSession | undefined) => this.#free(held);
    if (keep) {
      this.#pending.set(video, new Promise((resolve) => pass = resolve));
      this.#bytes.set(video, bytes);
    }
    let passed = false;
    return {
      from,
      keep,
      done: (held) => {
        if (passed) return;
        passed = true;
        pass(held);
      },
    };
  }

  /**
   * Frees every session waiting for a next batch (iteration stopped, or
   * the loader closes). Waits for the batches still running to pass theirs.
   */
  async releaseAll(): Promise<void> {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#bytes.clear();
    for (const p of pending) this.#free(await p);
  }

  #free(held: HeldSession | undefined): void {
    if (!held) return;
    held.session?.release();
    this.#budget.release(held.bytes);
  }
}
