/**
 * Limits a server puts on its peers' connections (how many, how long they
 * may sit idle or take to send a request), the gate that enforces the cap
 * across listeners, and rate-limited reporting of what was refused.
 *
 * @module
 */

/** One structured event (the coordinator logs it as a JSON line). */
export type ServerEvent = Record<string, unknown> & { event: string };

/** Connection limits of a listener. */
export interface ConnectionLimits {
  /** Connections open at once across the listeners sharing the gate. */
  maxConnections: number;
  /** A connection with no request in flight is closed after this long (ms). */
  idleTimeoutMs: number;
  /** A new connection must deliver its first request head within this (ms). */
  headerTimeoutMs: number;
  /** A request body must arrive completely within this (ms). */
  bodyTimeoutMs: number;
}

/** Defaults, except `maxConnections` (see {@linkcode defaultMaxConnections}). */
export const DEFAULT_LIMITS: Omit<ConnectionLimits, "maxConnections"> = {
  idleTimeoutMs: 60_000,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
};

/** The default connection cap when the descriptor limit is unknown. */
const FALLBACK_MAX_CONNECTIONS = 1000;

/** The cap never goes above this by default (memory: ≈ 30 KiB per idle connection). */
const CEILING_MAX_CONNECTIONS = 10_000;

/**
 * The soft `RLIMIT_NOFILE` of this process (Linux: `/proc/self/limits`).
 *
 * @returns The limit, or `undefined` when unknown or unlimited.
 */
export function openFileLimit(): number | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default connection cap: the descriptor limit minus a reserve for
 * everything else the process opens (a quarter of it, at most 256), at
 * most 10 000.
 *
 * @param nofile The soft descriptor limit (default: this process's).
 * @returns The cap (at least 16).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultMaxConnections } from "./conn_limits.ts";
 * assert.equal(defaultMaxConnections(1024), 768);
 * assert.equal(defaultMaxConnections(256), 192);
 * assert.equal(defaultMaxConnections(1048576), 10000);
 * ```
 */
export function defaultMaxConnections(
  nofile: number | undefined = openFileLimit(),
): number {
  if (nofile === undefined) return FALLBACK_MAX_CONNECTIONS;
  const reserve = Math.min(256, Math.floor(nofile / 4));
  return Math.max(16, Math.min(CEILING_MAX_CONNECTIONS, nofile - reserve));
}

/**
 * Emits an event at most once per interval; the hits in between are counted
 * and reported with the next event as `suppressed`.
 */
export class RateLimitedEvent {
  #emit: (event: ServerEvent) => void;
  #intervalMs: number;
  #last = -Infinity;
  #suppressed = 0;

  /**
   * @param emit Where events go.
   * @param intervalMs Least time between two events (default 10 s).
   */
  constructor(emit: (event: ServerEvent) => void, intervalMs = 10_000) {
    this.#emit = emit;
    this.#intervalMs = intervalMs;
  }

  /**
   * Reports one occurrence.
   *
   * @param event The event (emitted now, or counted).
   */
  hit(event: ServerEvent): void {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#last = now;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#emit({ ...event, suppressed });
  }
}

/**
 * Counts open connections across listeners and refuses those above the
 * cap (one rate-limited `connections_refused` event says so).
 */
export class ConnectionGate {
  /** The cap. */
  readonly maxConnections: number;
  #open = 0;
  #refused: RateLimitedEvent;

  /**
   * @param maxConnections The cap.
   * @param emit Where the refusal event goes.
   */
  constructor(
    maxConnections: number,
    emit: (event: ServerEvent) => void = () => {},
  ) {
    this.maxConnections = maxConnections;
    this.#refused = new RateLimitedEvent(emit);
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Admits a connection if under the cap.
   *
   * @param listener Which listener accepted it (named in the event).
   * @returns Whether it may stay; when true, call {@linkcode ConnectionGate.release} once it closes.
   */
  admit(listener: string): boolean {
    if (this.#open >= this.maxConnections) {
      this.#refused.hit({
        event: "connections_refused",
        listener,
        open: this.#open,
        max_connections: this.maxConnections,
        reason:
          "connection cap reached: new connections are closed at once (raise --max-connections and ulimit -n if these are real clients)",
      });
      return false;
    }
    this.#open++;
    return true;
  }

  /** Releases an admitted connection. */
  release(): void {
    this.#open--;
  }
}
