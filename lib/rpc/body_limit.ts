/**
 * Request bodies read under limits while they stream in: a per-request size
 * cap (a declared `Content-Length` above it is refused before any byte is
 * read), a deadline for the whole body, and one byte budget shared by every
 * request a server is reading, so a flood of large bodies cannot grow the
 * process without bound. The first {@linkcode BodyLimits.freeBytes} of each
 * body are not charged to the budget: the agents' small RPCs never wait on
 * (or fail for) bytes that other peers hold.
 *
 * Failures are `ConnectError`s: `ResourceExhausted` for size and budget
 * (agents retry it), `DeadlineExceeded` for a body that does not arrive in
 * time.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type Deadline, unwatch, watch } from "./deadlines.ts";

/** Bytes of request bodies being read, shared by every request of a server. */
export class BodyBudget {
  /** Bytes that may be held at once. */
  readonly limitBytes: number;
  #used = 0;

  /**
   * Creates a budget.
   *
   * @param limitBytes Bytes that may be held at once.
   */
  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.#used;
  }

  /**
   * Takes `n` bytes if they fit.
   *
   * @param n Bytes wanted.
   * @returns Whether they were taken.
   */
  tryTake(n: number): boolean {
    if (this.#used + n > this.limitBytes) return false;
    this.#used += n;
    return true;
  }

  /**
   * Gives back bytes taken with {@linkcode BodyBudget.tryTake}.
   *
   * @param n Bytes to give back.
   */
  give(n: number): void {
    this.#used -= n;
  }
}

/** Limits on one request body. */
export interface BodyLimits {
  /** Largest body accepted (bytes). */
  maxBytes: number;
  /** The whole body must arrive within this many ms of the first read. */
  timeoutMs: number;
  /** Shared budget; bytes of a body beyond `freeBytes` are charged to it. */
  budget?: BodyBudget;
  /** Bytes of each body not charged to the budget (default 16 KiB). */
  freeBytes?: number;
}

const DEFAULT_FREE_BYTES = 16384;

/**
 * Refuses a declared body length above the limit before anything is read.
 *
 * @param contentLength The `Content-Length` header, if any.
 * @param maxBytes Largest body accepted.
 * @returns The declared length (0 when none).
 * @throws {ConnectError} `ResourceExhausted` when it is larger.
 */
export function checkDeclaredLength(
  contentLength: string | null,
  maxBytes: number,
): number {
  if (contentLength === null) return 0;
  const n = Number(contentLength);
  if (n > maxBytes) throw tooLarge(`${n}`, maxBytes);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function tooLarge(size: string, maxBytes: number): ConnectError {
  return new ConnectError(
    `request body of ${size} bytes is larger than the coordinator accepts (${maxBytes} bytes)`,
    Code.ResourceExhausted,
  );
}

function budgetExhausted(budget: BodyBudget): ConnectError {
  return new ConnectError(
    `the coordinator is already reading ${budget.usedBytes} bytes of request bodies (limit ${budget.limitBytes}); retry later`,
    Code.ResourceExhausted,
  );
}

function tooSlow(timeoutMs: number): ConnectError {
  return new ConnectError(
    `request body did not arrive within ${timeoutMs} ms`,
    Code.DeadlineExceeded,
  );
}

/**
 * Counts one body's bytes against its limits and arms its deadline, which
 * calls `onLate` (to make a pending read settle); {@linkcode BodyMeter.done}
 * disarms it and gives the budget share back. A declared length is charged
 * up front, so a body the budget cannot hold is refused before a byte of it
 * is read.
 */
class BodyMeter {
  #limits: BodyLimits;
  #free: number;
  #seen = 0;
  #charged = 0;
  #deadline: Deadline;
  #late = false;

  constructor(limits: BodyLimits, declared: number, onLate: () => void) {
    this.#limits = limits;
    this.#free = limits.freeBytes ?? DEFAULT_FREE_BYTES;
    const upFront = declared - this.#free;
    if (upFront > 0 && limits.budget !== undefined) {
      if (!limits.budget.tryTake(upFront)) {
        throw budgetExhausted(limits.budget);
      }
      this.#charged = upFront;
    }
    this.#deadline = watch(limits.timeoutMs, () => {
      this.#late = true;
      // Given back here too: a reader abandoned mid-body never calls done().
      this.done();
      onLate();
    });
  }

  /** Throws `DeadlineExceeded` once the deadline passed. */
  checkTime(): void {
    if (this.#late) throw tooSlow(this.#limits.timeoutMs);
  }

  /** Counts `n` more bytes; throws when a limit is crossed. */
  add(n: number): void {
    this.checkTime();
    const limits = this.#limits;
    this.#seen += n;
    if (this.#seen > limits.maxBytes) {
      throw tooLarge(`at least ${this.#seen}`, limits.maxBytes);
    }
    const owed = this.#seen - this.#free - this.#charged;
    if (owed > 0 && limits.budget !== undefined) {
      if (!limits.budget.tryTake(owed)) throw budgetExhausted(limits.budget);
      this.#charged += owed;
    }
  }

  /** Disarms the deadline and gives the budget share back (idempotent). */
  done(): void {
    unwatch(this.#deadline);
    this.#limits.budget?.give(this.#charged);
    this.#charged = 0;
  }
}

/**
 * Reads a whole request body under `limits`, stopping (and cancelling the
 * stream) as soon as one is crossed.
 *
 * @param request The request (its `Content-Length` is checked first).
 * @param limits Size cap, deadline and budget.
 * @returns The body bytes.
 * @throws {ConnectError} `ResourceExhausted` (too large, budget spent) or
 * `DeadlineExceeded` (too slow).
 *
 * @example Refuse an oversized body
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBodyLimited } from "./body_limit.ts";
 *
 * const small = new Request("http://h/", { method: "POST", body: "hi" });
 * assert.equal((await readBodyLimited(small, { maxBytes: 4, timeoutMs: 1000 })).length, 2);
 * const big = new Request("http://h/", { method: "POST", body: "hello" });
 * await assert.rejects(readBodyLimited(big, { maxBytes: 4, timeoutMs: 1000 }), /larger than/);
 * ```
 */
export function readBodyLimited(
  request: Request,
  limits: BodyLimits,
): Promise<Uint8Array> {
  let declared: number;
  try {
    declared = checkDeclaredLength(
      request.headers.get("content-length"),
      limits.maxBytes,
    );
  } catch (e) {
    return Promise.reject(e);
  }
  if (declared > 0 && declared <= (limits.freeBytes ?? DEFAULT_FREE_BYTES)) {
    // The common small RPC: bounded by its declared length (HTTP/1.1 and
    // HTTP/2 framing enforce it) and free of the budget, so it is read in
    // one go, which skips the stream machinery.
    return readDeclared(request, limits.timeoutMs);
  }
  return readStreamed(request, limits, declared);
}

/**
 * Reads a small body of declared length in one go, or fails with
 * `DeadlineExceeded` once `timeoutMs` pass. One promise and its two
 * reactions per request (this runs for every agent RPC: no async function,
 * no race).
 */
function readDeclared(
  request: Request,
  timeoutMs: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const deadline = watch(timeoutMs, () => reject(tooSlow(timeoutMs)));
    request.bytes().then((bytes) => {
      unwatch(deadline);
      resolve(bytes);
    }, (err) => {
      unwatch(deadline);
      reject(err);
    });
  });
}

/** Reads a body chunk by chunk under all of `limits`. */
async function readStreamed(
  request: Request,
  limits: BodyLimits,
  declared: number,
): Promise<Uint8Array> {
  const body = request.body;
  if (body === null) return new Uint8Array(0);
  const meter = new BodyMeter(limits, declared, () => {
    reader.cancel().catch(() => {});
  });
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const r = await reader.read();
      if (r.done) {
        meter.checkTime();
        break;
      }
      meter.add(r.value.byteLength);
      chunks.push(r.value);
      total += r.value.byteLength;
    }
  } catch (e) {
    reader.cancel(e).catch(() => {});
    throw e;
  } finally {
    meter.done();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Wraps a body's chunks so that iterating them enforces `limits` (for the
 * Connect router, which reads bodies as async iterables). The budget share
 * is given back when iteration ends, however it ends.
 *
 * @param chunks The body's chunks.
 * @param limits Size cap, deadline and budget.
 * @param contentLength The declared length, checked before the first read.
 * @param onLate Called when the deadline passes; must make a pending read
 * settle (cancel the stream, destroy the request).
 * @returns The same chunks, checked.
 *
 * @example Stop at the limit
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitBody } from "./body_limit.ts";
 *
 * async function* body() { yield new Uint8Array(3); yield new Uint8Array(3); }
 * const seen: number[] = [];
 * await assert.rejects(async () => {
 *   for await (const c of limitBody(body(), { maxBytes: 4, timeoutMs: 1000 }, null, () => {})) seen.push(c.length);
 * }, /larger than/);
 * assert.deepEqual(seen, [3]);
 * ```
 */
export async function* limitBody(
  chunks: AsyncIterable<Uint8Array>,
  limits: BodyLimits,
  contentLength: string | null,
  onLate: () => void,
): AsyncGenerator<Uint8Array> {
  const declared = checkDeclaredLength(contentLength, limits.maxBytes);
  const meter = new BodyMeter(limits, declared, onLate);
  const it = chunks[Symbol.asyncIterator]();
  try {
    while (true) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        meter.checkTime();
        throw e;
      }
      if (r.done) {
        meter.checkTime();
        return;
      }
      meter.add(r.value.byteLength);
      yield r.value;
    }
  } catch (e) {
    await it.throw?.(e).catch(() => {});
    throw e;
  } finally {
    meter.done();
  }
}
