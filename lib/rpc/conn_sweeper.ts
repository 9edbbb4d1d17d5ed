/**
 * Closes connections that break the time limits: a new connection that has
 * not delivered a request head within `headerTimeoutMs`, and a connection
 * with nothing in flight for `idleTimeoutMs` (which also ends a later
 * request head that never completes). They are closed at once, not
 * gracefully: a graceful HTTP/1.1 shutdown waits for a half-sent request
 * head, which is what a hostile peer sends. One timer scans every
 * connection a few times per timeout, so the per-request cost is two
 * counter updates.
 *
 * @module
 */
import type { ConnectionLimits } from "./conn_limits.ts";

/** What the sweeper knows of one connection. */
export interface SweptConnection {
  /** When it was accepted (`performance.now()` ms). */
  readonly acceptedAt: number;
  /** When its last request ended or byte moved (`performance.now()` ms). */
  lastActiveAt: number;
  /** Requests in flight. */
  active: number;
  /** Whether a first request head (or, for byte-level tracking, a first byte) arrived. */
  started: boolean;
  /**
   * Close it at this time (`performance.now()` ms) whatever else holds:
   * set after an answer that left the request body unread.
   */
  closeAt?: number;
  /** Closes it now. */
  kill(): void;
}

/**
 * How long a connection whose request body was left unread stays open
 * after the answer, so the peer reads the answer before the close (closing
 * with unread input sends a reset, which can discard it).
 */
export const LINGER_MS = 500;

/** What to do with a connection. */
export type SweepAction = "keep" | "kill";

/**
 * Decides a connection's fate (pure).
 *
 * @param c The connection.
 * @param now `performance.now()`.
 * @param limits The time limits.
 * @returns The action.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sweepAction } from "./conn_sweeper.ts";
 * const limits = { headerTimeoutMs: 100, idleTimeoutMs: 1000 };
 * const c = { acceptedAt: 0, lastActiveAt: 0, active: 0, started: false, kill() {} };
 * assert.equal(sweepAction(c, 50, limits), "keep");
 * assert.equal(sweepAction(c, 150, limits), "kill");
 * assert.equal(sweepAction({ ...c, started: true }, 150, limits), "keep");
 * assert.equal(sweepAction({ ...c, started: true }, 1500, limits), "kill");
 * assert.equal(sweepAction({ ...c, started: true, active: 1 }, 1500, limits), "keep");
 * assert.equal(sweepAction({ ...c, started: true, active: 1, closeAt: 10 }, 20, limits), "kill");
 * ```
 */
export function sweepAction(
  c: SweptConnection,
  now: number,
  limits: Pick<ConnectionLimits, "headerTimeoutMs" | "idleTimeoutMs">,
): SweepAction {
  if (c.closeAt !== undefined && now >= c.closeAt) return "kill";
  if (c.active > 0) return "keep";
  if (!c.started) {
    return now - c.acceptedAt >= limits.headerTimeoutMs ? "kill" : "keep";
  }
  return now - c.lastActiveAt >= limits.idleTimeoutMs ? "kill" : "keep";
}

/** Tracks a listener's connections and applies {@linkcode sweepAction} periodically. */
export class ConnectionSweeper {
  #limits: Pick<ConnectionLimits, "headerTimeoutMs" | "idleTimeoutMs">;
  #conns = new Set<SweptConnection>();
  #timer: ReturnType<typeof setInterval>;

  /**
   * Starts sweeping (the timer does not keep the process alive).
   *
   * @param limits The time limits.
   */
  constructor(
    limits: Pick<ConnectionLimits, "headerTimeoutMs" | "idleTimeoutMs">,
  ) {
    this.#limits = limits;
    const everyMs = Math.max(
      20,
      Math.min(LINGER_MS, limits.headerTimeoutMs / 4, limits.idleTimeoutMs / 4),
    );
    this.#timer = setInterval(() => this.sweep(), everyMs);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Connections tracked. */
  get size(): number {
    return this.#conns.size;
  }

  /** Every tracked connection. */
  connections(): Iterable<SweptConnection> {
    return this.#conns;
  }

  /**
   * Starts tracking a connection.
   *
   * @param c The connection.
   */
  add(c: SweptConnection): void {
    this.#conns.add(c);
  }

  /**
   * Stops tracking a connection (it closed).
   *
   * @param c The connection.
   */
  delete(c: SweptConnection): void {
    this.#conns.delete(c);
  }

  /** Applies the limits once (the timer calls this). */
  sweep(): void {
    const now = performance.now();
    for (const c of this.#conns) {
      if (sweepAction(c, now, this.#limits) === "kill") {
        this.#conns.delete(c);
        c.kill();
      }
    }
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
