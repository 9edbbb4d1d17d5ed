/**
 * The machinery shared by every loader: open the dataset, plan the order,
 * reserve bytes before fetching, build ahead in a bounded ordered pipeline,
 * release on the next iteration, sample RSS, count, checkpoint, close.
 *
 * @module
 */
import { readMachineMemory } from "../autotune/machine_memory.ts";
import { defaultRssCapBytes } from "../autotune/rss_cap.ts";
import { SampleReader, type SampleRef } from "../storage/sample_reader.ts";
import { ByteBudget } from "./byte_budget.ts";
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type LoaderCheckpoint,
} from "./checkpoint.ts";
import { type Dataset, openDataset } from "./dataset.ts";
import { type Built, OrderedPipeline } from "./pipeline.ts";
import { cutBatches, planOrder } from "./plan.ts";
import {
  type LoaderOptions,
  type ResolvedKnobs,
  resolveKnobs,
} from "./options.ts";
import { RssGuard } from "./rss_guard.ts";
import type { LoaderStats } from "./stats.ts";

/** What a batch builder gets: the ids and helpers to fetch their bytes. */
export interface BuildContext {
  /** Sample ids of the batch, in delivery order. */
  ids: Float64Array;
  /** The opened dataset. */
  dataset: Dataset;
  /** Aborts when the loader closes. */
  signal: AbortSignal;
  /**
   * Fetches the batch's bytes after reserving `payloadBytes + extraBytes`
   * (reservations are granted in batch order). Returns the payload, offsets
   * (B+1 entries) and a function that releases part of the reservation.
   */
  fetch(extraBytes: number): Promise<Fetched>;
}

/** Bytes of one batch, in one buffer. */
export interface Fetched {
  /** All samples back to back. */
  payload: Uint8Array;
  /** B+1 offsets into `payload`. */
  offsets: number[];
  /** Reserved bytes still held. */
  reservedBytes: number;
  /** Releases `bytes` of the reservation (all of it when omitted). */
  release(bytes?: number): void;
}

/** Every option, resolved. */
interface Resolved extends ResolvedKnobs {
  shuffle: boolean;
  seed: bigint;
  epoch: number;
}

/** Common loader base; subclasses turn fetched bytes into their batch type. */
export abstract class BaseLoader<T extends { release(): void }>
  implements AsyncIterable<T> {
  /** The dataset link. */
  readonly link: string;
  #options: LoaderOptions;
  #knobs: Resolved;
  #budget: ByteBudget;
  #opened?: Promise<void>;
  #dataset?: Dataset;
  #reader?: SampleReader;
  #pipeline?: OrderedPipeline<T>;
  #rss?: RssGuard;
  #rssCap = 0;
  #order?: { startId: number; endId: number; position: number };
  #position = 0;
  #held?: Built<T> & { planned?: number };
  #acquireTurn: Promise<void> = Promise.resolve();
  #closed = false;
  #failed?: unknown;
  #startedAt = performance.now();
  #waitMs = 0;
  #delivered = { batches: 0, samples: 0 };
  /** Counter subclasses bump for skipped samples. */
  protected decodeErrorsSkipped = 0;

  /**
   * Creates a loader; nothing is read until the first batch is asked for.
   *
   * @param link Dataset link (`dir`, `.tsv`, `s3://…`, with `@refresh` / `@sha256:`).
   * @param options Loader options.
   */
  constructor(link: string, options: LoaderOptions = {}) {
    this.link = link;
    this.#options = options;
    const knobs = resolveKnobs(options);
    this.#knobs = {
      ...knobs,
      shuffle: options.shuffle ?? false,
      seed: BigInt(options.seed ?? 0),
      epoch: options.epoch ?? 0,
    };
    this.#budget = new ByteBudget(knobs.maxInflightBytes);
  }

  /** Name of the decoder backend for stats (`none` for raw batches). */
  protected abstract get decodeBackend(): string;

  /** Builds one batch; called in order, possibly several at once. */
  protected abstract buildBatch(ctx: BuildContext): Promise<Built<T>>;

  /** Called once after the dataset is open (e.g. to start a decoder). */
  protected onOpen(_dataset: Dataset): Promise<void> {
    return Promise.resolve();
  }

  /** Called once on close. */
  protected onClose(): Promise<void> {
    return Promise.resolve();
  }

  /** The byte budget (for subclasses that size native pools from it). */
  protected get budget(): ByteBudget {
    return this.#budget;
  }

  /** The opened dataset (after the first batch or {@linkcode open}). */
  get dataset(): Dataset | undefined {
    return this.#dataset;
  }

  /** Class names (`classes[labelId]`); empty until opened or when unlabeled. */
  get classes(): string[] {
    return this.#dataset?.classes ?? [];
  }

  /** The pinned manifest hash (after open). */
  get manifestHash(): string | undefined {
    return this.#dataset?.snapshot.manifestHash;
  }

  /**
   * Resolves the link, pins the manifest and plans the order. Called by the
   * first iteration; call it yourself to fail early or read `classes`.
   */
  open(): Promise<void> {
    return this.#opened ??= this.#open();
  }

  async #open(): Promise<void> {
    const o = this.#options;
    const dataset = await openDataset(this.link, o.manifestStore);
    this.#dataset = dataset;
    const n = dataset.rows.length;
    let startId = o.startId ?? 0;
    let endId = o.endId ?? n;
    let position = 0;
    if (o.resumeFrom !== undefined) {
      const c = decodeCheckpoint(o.resumeFrom);
      this.#checkResume(c, dataset);
      ({ startId, endId, position } = c);
      this.#knobs.epoch = c.epoch;
      this.#knobs.seed = BigInt(c.seed);
      this.#knobs.shuffle = c.shuffle;
    }
    if (
      !(Number.isSafeInteger(startId) && Number.isSafeInteger(endId)) ||
      startId < 0 || endId > n || startId > endId
    ) {
      throw new RangeError(
        `startId/endId [${startId}, ${endId}) is outside the manifest's ids [0, ${n})`,
      );
    }
    const order = planOrder({
      startId,
      endId,
      shuffle: this.#knobs.shuffle,
      seed: this.#knobs.seed,
      epoch: this.#knobs.epoch,
      blockSize: o.shuffleBlockSize,
    });
    this.#order = { startId, endId, position };
    this.#position = position;
    const batches = cutBatches(order, this.#knobs.batchSizeSamples, position);
    this.#reader = new SampleReader(dataset.root, {
      concurrency: o.fetchConcurrency,
    });
    this.#rssCap = o.maxProcessRssBytes ?? await defaultRssCap();
    this.#rss = new RssGuard(this.#rssCap);
    await this.onOpen(dataset);
    this.#pipeline = new OrderedPipeline<T>(
      batches.length,
      (index, signal) => this.#buildAt(batches[index], signal),
      {
        prefetchBatches: () => this.#knobs.prefetchBatches,
        maxQueueBatches: () => this.#knobs.maxQueueBatches,
      },
    );
  }

  #checkResume(c: LoaderCheckpoint, dataset: Dataset): void {
    const hash = dataset.snapshot.manifestHash;
    if (c.manifestHash !== hash) {
      throw new CheckpointError(
        `resumeFrom token is for manifest ${c.manifestHash} but "${this.link}" resolved to ${hash}: ` +
          `open the loader with ${dataset.snapshot.base}@sha256:${c.manifestHash}`,
      );
    }
  }

  #buildAt(ids: Float64Array, signal: AbortSignal): Promise<Built<T>> {
    // Reservations are granted in batch order so the oldest batch never
    // waits behind younger ones (no deadlock with a FIFO budget).
    const myTurn = this.#acquireTurn;
    let passTurn!: () => void;
    this.#acquireTurn = new Promise((r) => passTurn = r);
    let turnPassed = false;
    const pass = () => {
      if (!turnPassed) (turnPassed = true, passTurn());
    };
    const dataset = this.#dataset!;
    const reader = this.#reader!;
    const refs: SampleRef[] = Array.from(ids, (id) => dataset.rows[id]);
    const ctx: BuildContext = {
      ids,
      dataset,
      signal,
      fetch: async (extraBytes) => {
        let reserved = 0;
        let offsets: number[];
        try {
          const sizes = await reader.sizes(refs, signal);
          offsets = [0];
          for (const s of sizes) offsets.push(offsets[offsets.length - 1] + s);
          const payloadBytes = offsets[offsets.length - 1];
          await myTurn;
          await this.#budget.acquire(payloadBytes + extraBytes, signal);
          reserved = payloadBytes + extraBytes;
          this.#rss?.observeInflight(this.#budget.usedBytes);
          pass();
          const payload = new Uint8Array(payloadBytes);
          await reader.readInto(refs, sizes, payload, offsets, signal);
          const budget = this.#budget;
          const fetched: Fetched = {
            payload,
            offsets,
            get reservedBytes() {
              return reserved;
            },
            release(bytes = reserved) {
              const n = Math.min(bytes, reserved);
              reserved -= n;
              budget.release(n);
            },
          };
          return fetched;
        } catch (err) {
          pass();
          if (reserved > 0) this.#budget.release(reserved);
          throw err;
        }
      },
    };
    return this.buildBatch(ctx).then((b) => ({ ...b, planned: ids.length }))
      .finally(pass);
  }

  /**
   * Returns the next batch (releasing the previous one), or `null` at the end.
   *
   * @returns The batch or null.
   * @throws The error that stopped the loader (it is closed by then).
   */
  async next(): Promise<T | null> {
    if (this.#failed) throw this.#failed;
    if (this.#closed) return null;
    this.#held?.release();
    this.#held = undefined;
    try {
      await this.open();
      const t0 = performance.now();
      const built = await this.#pipeline!.next();
      this.#waitMs += performance.now() - t0;
      if (built === null) return null;
      this.#held = built;
      this.#position += (built as { planned?: number }).planned ?? 0;
      this.#rss!.observeInflight(this.#budget.usedBytes);
      this.#rss!.onBatch();
      this.#delivered.batches++;
      const n = batchLength(built.value);
      this.#delivered.samples += n;
      return built.value;
    } catch (err) {
      this.#failed = err;
      await this.close();
      throw err;
    }
  }

  /**
   * Iterates batches; each iteration releases the previous batch's memory.
   *
   * @yields Batches in deterministic order.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        const b = await this.next();
        if (b === null) return;
        yield b;
      }
    } finally {
      await this.close();
    }
  }

  /**
   * A token that resumes after the batches delivered so far (`resumeFrom`).
   *
   * @returns The token.
   * @throws {Error} Before the loader has opened its dataset.
   */
  checkpoint(): string {
    if (!this.#dataset || !this.#order) {
      throw new Error(
        "checkpoint() needs an open loader: call open() or take a batch first",
      );
    }
    return encodeCheckpoint({
      v: 1,
      manifestHash: this.#dataset.snapshot.manifestHash,
      epoch: this.#knobs.epoch,
      seed: this.#knobs.seed.toString(),
      shuffle: this.#knobs.shuffle,
      startId: this.#order.startId,
      endId: this.#order.endId,
      position: this.#position,
    });
  }

  /**
   * Current statistics.
   *
   * @returns A snapshot of counters and gauges.
   */
  stats(): LoaderStats {
    return {
      deliveredBatchesTotal: this.#delivered.batches,
      deliveredSamplesTotal: this.#delivered.samples,
      inflightBytes: this.#budget.usedBytes,
      inflightHighWaterBytes: this.#budget.highWaterBytes,
      processRssBytes: this.#rss?.rssBytes ?? 0,
      ramHighWaterBytes: Math.max(
        this.#rss?.ramHighWaterBytes ?? 0,
        this.#budget.highWaterBytes,
      ),
      maxInflightBytes: this.#budget.capBytes,
      maxProcessRssBytes: this.#rssCap,
      effectivePrefetchBatches: this.#knobs.prefetchBatches,
      effectiveMaxQueueBatches: this.#knobs.maxQueueBatches,
      effectiveWant: 0,
      autotuneEnabled: false,
      autotuneProfile: "",
      autotunePressure: 0,
      autotuneLastDecision: "",
      autotuneAdjustmentsTotal: 0,
      elapsedSeconds: (performance.now() - this.#startedAt) / 1000,
      consumerWaitSeconds: this.#waitMs / 1000,
      decodeBackend: this.decodeBackend,
      decodeErrorsSkippedTotal: this.decodeErrorsSkipped,
      fetchRetriesTotal: this.#reader?.retries ?? 0,
      queueDepthBatches: this.#pipeline?.readyBatches ?? 0,
      prefetchDepthBatches: this.#pipeline?.buildingBatches ?? 0,
    };
  }

  /** Stops background work and returns all memory. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#held?.release();
    this.#held = undefined;
    await this.#pipeline?.close();
    await this.#reader?.close();
    await this.onClose();
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function batchLength(value: unknown): number {
  const ids = (value as { sampleIds?: BigInt64Array }).sampleIds;
  return ids?.length ?? 0;
}

async function defaultRssCap(): Promise<number> {
  const env = Deno.env.get("MX8_MAX_PROCESS_RSS_BYTES");
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RangeError(
        `MX8_MAX_PROCESS_RSS_BYTES must be a positive integer, got "${env}"`,
      );
    }
    return n;
  }
  const profile = (Deno.env.get("MX8_AUTOTUNE_PROFILE") ?? "balanced") as
    | "safe"
    | "balanced"
    | "throughput";
  const mem = await readMachineMemory();
  return defaultRssCapBytes(profile, mem.memTotalBytes, mem.cgroupMaxBytes);
}
