/**
 * Bounded-parallel reads delivered in order: at most `concurrency` reads run
 * at once, into a ring of `budgetBytes` that holds every byte read or being
 * read and not yet consumed (at most `maxQueued` results), whatever the
 * number of tasks.
 *
 * @module
 */
import { RingArena } from "./ring_arena.ts";

/** Options for {@linkcode readInOrder}. */
export interface ReadInOrderOptions<T> {
  /** Reads running at once (≥ 1). */
  concurrency: number;
  /** Bytes of data in flight: the size of the read ring. */
  budgetBytes: number;
  /**
   * Results read or being read and not yet consumed, at most (default
   * 1024): bounds the bookkeeping when tasks are tiny.
   */
  maxQueued?: number;
  /** Bytes a task reads (1 … budgetBytes). */
  cost(task: T): number;
  /** Stops the reads; the generator then throws the signal's reason. */
  signal?: AbortSignal;
}

/** One completed read. */
export interface ReadResult<T> {
  /** The task. */
  task: T;
  /** Its bytes; valid until the consumer asks for the next result. */
  data: Uint8Array;
}

interface Pending<T> {
  task: T;
  promise: Promise<Uint8Array>;
}

/**
 * Reads tasks with bounded parallelism and memory, yielding results in task
 * order. Each read gets a view of `cost(task)` bytes of a ring of
 * `budgetBytes` to fill (it may return other bytes instead); the view stays
 * reserved until the consumer asks for the next result, so nothing is
 * allocated per task. The first failure in task order is thrown; leaving the
 * loop early stops the remaining reads and waits for running ones to settle.
 *
 * @example Ordered results whatever the completion order
 * ```ts
 * import assert from "node:assert/strict";
 * import { readInOrder } from "./ordered_reads.ts";
 * const read = async (n: number, into: Uint8Array) => {
 *   await new Promise((r) => setTimeout(r, 10 - n));
 *   return into.fill(n);
 * };
 * const seen = [];
 * for await (const { task } of readInOrder([1, 2, 3], read, {
 *   concurrency: 3, budgetBytes: 4, cost: (n) => n,
 * })) seen.push(task);
 * assert.deepEqual(seen, [1, 2, 3]);
 * ```
 *
 * @param tasks Tasks in output order (iterated lazily).
 * @param read Reads one task into `into` (or returns its own bytes); gets a
 * signal that aborts when the loop ends.
 * @param options Concurrency, byte budget and cost.
 * @yields Each task with its bytes, in order.
 */
export async function* readInOrder<T>(
  tasks: Iterable<T>,
  read: (task: T, into: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>,
  options: ReadInOrderOptions<T>,
): AsyncGenerator<ReadResult<T>> {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const maxQueued = Math.max(1, Math.floor(options.maxQueued ?? 1024));
  const ring = new RingArena(Math.max(1, Math.floor(options.budgetBytes)));
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();

  const queue: Pending<T>[] = [];
  let running = 0;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let producerDone = false;
  let producerError: unknown;
  const notify = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };

  const onSettled = () => {
    running--;
    wakeProducer?.();
    wakeProducer = undefined;
  };

  const producer = (async () => {
    try {
      for (const task of tasks) {
        if (ac.signal.aborted) return;
        const into = await ring.alloc(options.cost(task));
        while (
          (running >= concurrency || queue.length >= maxQueued) &&
          !ac.signal.aborted
        ) {
          await new Promise<void>((r) => (wakeProducer = r));
        }
        if (ac.signal.aborted) {
          ring.free();
          return;
        }
        running++;
        const promise = read(task, into, ac.signal);
        promise.then(onSettled, onSettled);
        queue.push({ task, promise });
        notify();
      }
    } catch (err) {
      producerError = err;
    } finally {
      producerDone = true;
      notify();
    }
  })();

  let held = false;
  try {
    while (true) {
      if (held) ring.free();
      held = false;
      if (ac.signal.aborted) throw ac.signal.reason;
      const item = queue.shift();
      wakeProducer?.();
      wakeProducer = undefined;
      if (item === undefined) {
        if (producerDone) {
          if (producerError !== undefined) throw producerError;
          return;
        }
        await new Promise<void>((r) => (wakeConsumer = r));
        continue;
      }
      held = true;
      yield { task: item.task, data: await item.promise };
    }
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
    ac.abort(new DOMException("Reads stopped", "AbortError"));
    wakeProducer?.();
    // Every running read is queued: wait for them before freeing their space.
    await Promise.allSettled(queue.map((item) => item.promise));
    if (held) ring.free();
    for (const _ of queue.splice(0)) ring.free();
    await producer;
    await Promise.allSettled(queue.map((item) => item.promise));
    for (const _ of queue.splice(0)) ring.free();
  }
}
