/**
 * The machinery shared by every loader: take segments from a source (the
 * local plan, or leases), reserve bytes before fetching, build ahead in a
 * bounded ordered pipeline, release on the next iteration, sample RSS,
 * count, checkpoint, close.
 *
 * @module
 */
import { readMachineMemory } from "../autotune/machine_memory.ts";
import { defaultRssCapBytes } from "../autotune/rss_cap.ts";
import { SampleReader, type SampleRef } from "../sample_bytes/sample_reader.ts";
import {
  AutotuneDriver,
  autotuneSetting,
  type LoaderLog,
} from "./autotune_driver.ts";
import { autotuneProfile } from "../autotune/profiles.ts";
import { ByteBudget } from "./byte_budget.ts";
import { LocalSource } from "./local_source.ts";
import { leaseSourceFor } from "../distributed/mod.ts";
import {
  type LoaderOptions,
  type ResolvedKnobs,
  resolveKnobs,
  validateLoaderOptions,
} from "./options.ts";
import { type Built, OrderedPipeline } from "./pipeline.ts";
import { RssGuard } from "./rss_guard.ts";
import type { Segment, SegmentSource } from "./segment.ts";
import type { LoaderStats } from "./stats.ts";
import type { ImageDecoder } from "../decode/types.ts";

/** What a batch builder gets: the ids and a way to fetch their bytes. */
export interface BuildContext {
  /** Sample ids of the batch, in delivery order. */
  ids: Float64Array;
  /** The segment the batch belongs to (rows, labels). */
  segment: Segment;
  /** Aborts when the loader closes. */
  signal: AbortSignal;
  /**
   * Fetches the batch's bytes after reserving `payloadBytes + extraBytes`
   * (reservations are granted in batch order). With `afterRead`, the batch
   * keeps its turn until the bytes are read and the further bytes
   * `afterRead` asks for (sized from them: e.g. decode working memory) are
   * reserved too, so later batches never hold memory it waits for.
   */
  fetch(extraBytes: number, afterRead?: AfterRead): Promise<Fetched>;
}

/**
 * Sizes further bytes to reserve from a batch's read bytes (called once,
 * before the next batch may reserve anything). `payloadBytes + extraBytes +`
 * the result must not exceed the cap.
 */
export type AfterRead = (
  payload: Uint8Array,
  offsets: number[],
) => number | Promise<number>;

/** Bytes of one batch, in one buffer. */
export interface Fetched {
  /** All samples back to back. */
  payload: Uint8Array;
  /** B+1 offsets into `payload`. */
  offsets: number[];
  /** Reserved bytes still held. */
  readonly reservedBytes: number;
  /** Releases `bytes` of the reservation (all of it when omitted). */
  release(bytes?: number): void;
  /**
   * Frees the payload's memory now (detaches it: views read as empty) and
   * releases its share of the reservation. Idempotent.
   */
  freePayload(): void;
}

/** A built batch with where it came from. */
interface Held<T> extends Built<T> {
  segment: Segment;
  index: number;
  ids: Float64Array;
  bytes: number;
}

/**
 * Internal option key: a ready segment source (used by `mx8 agent`, which
 * builds its own lease source with fault-injection hooks).
 */
export const SEGMENT_SOURCE: unique symbol = Symbol("mx8.segmentSource");

/**
 * Internal key of {@linkcode BaseLoader}'s hooks for `mix()` (not public API).
 */
export const FOR_MIX: unique symbol = Symbol("mx8.forMix");

/** What `mix()` does with a source loader (internal). */
export interface MixSourceHooks<T extends { release(): void }> {
  /** The options the loader was created with. */
  readonly options: Readonly<LoaderOptions>;
  /** Whether the loader works alone (has a local plan, can checkpoint). */
  readonly local: boolean;
  /**
   * Before open: reserve through `budget`, cap RSS, resume from a token,
   * turn on autotune when the loader has none.
   */
  configure(o: {
    budget?: ByteBudget;
    maxProcessRssBytes?: number;
    resumeFrom?: string;
    autotune?: LoaderOptions["autotune"];
    /** A decoder shared with the mix's other sources (image loaders use it, and do not own it). */
    decoder?: ImageDecoder;
    /** The mix runs one autotune controller for all sources: run none here. */
    tunedByMix?: boolean;
    /**
     * Image loaders deliver their batches undecoded (compressed samples with
     * their reservation): the mix decodes them straight into its mixed
     * batches (`granularity: "sample"`).
     */
    undecoded?: boolean;
  }): void;
  /** Heartbeats (distributed sources) report these stats instead of the loader's own: the mix's. */
  reportStats(stats: () => LoaderStats): void;
  /** Sets the pipeline knobs (the mix's autotune controller). */
  setKnobs(k: {
    prefetchBatches: number;
    maxQueueBatches: number;
    want: number;
  }): void;
  /** Starts building ahead (after open). */
  prime(): void;
  /** Returns the held batch's memory now (and reports it done). */
  releaseHeld(): void;
  /**
   * Takes the held batch from the loader (its next `next()` no longer
   * releases it): the returned function returns its memory and reports it
   * done, once. Undefined when nothing is held.
   */
  takeHeld(): (() => void) | undefined;
  /** A new, unopened loader of the same class and link with `overrides`. */
  respawn(overrides: Partial<LoaderOptions>): BaseLoader<T>;
}

/** Common loader base; subclasses turn fetched bytes into their batch type. */
export abstract class BaseLoader<T extends { release(): void }>
  implements AsyncIterable<T> {
  /** The dataset link (empty in distributed mode). */
  readonly link: string;
  #options: LoaderOptions;
  #knobs: ResolvedKnobs;
  #budget: ByteBudget;
  #sharedDecoder?: ImageDecoder;
  #undecoded = false;
  #source: SegmentSource;
  #opened?: Promise<void>;
  #reader?: SampleReader;
  #segment?: Segment;
  #pipeline?: OrderedPipeline<Held<T>>;
  #rss?: RssGuard;
  #rssCap = 0;
  #held?: Held<T>;
  #acquireTurn: Promise<void> = Promise.resolve();
  #abort = new AbortController();
  #closed = false;
  #failed?: unknown;
  #startedAt = performance.now();
  #waitMs = 0;
  /** When the consumer's current wait began (undefined: not waiting). */
  #waitingSince?: number;
  #delivered = { batches: 0, samples: 0 };
  #autotune?: {
    profile: ReturnType<typeof autotuneSetting> & object;
    driver?: AutotuneDriver;
  };
  #log: LoaderLog;
  /** Counter subclasses bump for skipped samples. */
  protected decodeErrorsSkipped = 0;

  /**
   * Logs one structured event through the loader's `log` option.
   *
   * @param event Event name (snake_case).
   * @param fields Event fields.
   */
  protected logEvent(event: string, fields: Record<string, unknown>): void {
    this.#log(event, fields);
  }

  /**
   * Creates a loader; nothing is read until the first batch is asked for.
   *
   * @param link Dataset link (`dir`, `.tsv`, `s3://…`, with `@refresh` / `@sha256:`);
   *   ignored in distributed mode (`coordUrl`), where the coordinator pins the dataset.
   * @param options Loader options.
   */
  constructor(link: string, options: LoaderOptions = {}) {
    validateLoaderOptions(options);
    this.link = link;
    this.#options = options;
    this.#log = options.log ??
      ((event, fields) =>
        console.error(
          JSON.stringify({ ts: new Date().toISOString(), event, ...fields }),
        ));
    const tune = autotuneSetting(options.autotune);
    if (tune) {
      // Autotune starts from the profile's values for every knob not given.
      const p = autotuneProfile(tune.profile);
      options = {
        ...options,
        maxInflightBytes: options.maxInflightBytes ?? p.startMaxInflightBytes,
        maxQueueBatches: options.maxQueueBatches ?? p.startMaxQueueBatches,
        prefetchBatches: options.prefetchBatches ?? p.startPrefetchBatches,
      };
      this.#autotune = { profile: tune };
    }
    this.#knobs = resolveKnobs(options);
    this.#budget = new ByteBudget(this.#knobs.maxInflightBytes);
    const given =
      (options as { [SEGMENT_SOURCE]?: SegmentSource })[SEGMENT_SOURCE];
    if (given) {
      this.#source = given;
      this.#source.attachStats?.(() => this.stats());
    } else if (options.coordUrl !== undefined) {
      this.#source = leaseSourceFor(
        { ...options, log: this.#log },
        this.#knobs.batchSizeSamples,
      );
      this.#source.attachStats?.(() => this.stats());
    } else {
      this.#source = new LocalSource(
        link,
        options,
        this.#knobs.batchSizeSamples,
      );
    }
  }

  /**
   * Hooks for `mix()` (internal; not public API).
   *
   * @returns The hooks.
   */
  [FOR_MIX](): MixSourceHooks<T> {
    const notOpened = (what: string) => {
      if (this.#opened) {
        throw new Error(
          `mix(): a source loader must be new (not opened or iterated) so the mix can ${what}`,
        );
      }
    };
    return {
      options: this.#options,
      local: this.#source instanceof LocalSource,
      configure: (o) => {
        notOpened("share one memory budget");
        if (o.budget) this.#budget = o.budget;
        if (o.decoder) this.#sharedDecoder = o.decoder;
        if (o.undecoded) this.#undecoded = true;
        if (o.maxProcessRssBytes !== undefined) {
          this.#options = {
            ...this.#options,
            maxProcessRssBytes: o.maxProcessRssBytes,
          };
        }
        if (o.resumeFrom !== undefined) {
          if (!(this.#source instanceof LocalSource)) {
            throw new Error(
              "mix(): a distributed source resumes through its coordinator, not a mix checkpoint",
            );
          }
          this.#source = new LocalSource(
            this.link,
            { ...this.#options, resumeFrom: o.resumeFrom },
            this.#knobs.batchSizeSamples,
          );
        }
        if (o.tunedByMix) {
          this.#autotune = undefined;
        } else {
          const tune = autotuneSetting(o.autotune);
          if (tune && !this.#autotune) this.#autotune = { profile: tune };
        }
      },
      reportStats: (stats) => this.#source.attachStats?.(stats),
      setKnobs: (k) => {
        this.#knobs.prefetchBatches = k.prefetchBatches;
        this.#knobs.maxQueueBatches = k.maxQueueBatches;
        this.#source.setWant?.(k.want);
      },
      prime: () => this.#pipeline?.prime(),
      releaseHeld: () => this.#releaseHeld(),
      takeHeld: () => {
        const h = this.#held;
        if (!h) return undefined;
        this.#held = undefined;
        let done = false;
        return () => {
          if (done) return;
          done = true;
          h.release();
          h.segment.done?.(h.index, h.ids, h.bytes);
        };
      },
      respawn: (overrides) => {
        const Ctor = this.constructor as new (
          link: string,
          options: LoaderOptions,
        ) => BaseLoader<T>;
        return new Ctor(this.link, { ...this.#options, ...overrides });
      },
    };
  }

  /** Name of the decoder backend for stats (`none` for raw batches). */
  protected abstract get decodeBackend(): string;

  /** Builds one batch; called in order, possibly several at once. */
  protected abstract buildBatch(ctx: BuildContext): Promise<Built<T>>;

  /** Called once before the first batch is built (e.g. to start a decoder). */
  protected onOpen(): Promise<void> {
    return Promise.resolve();
  }

  /** Called once on close. */
  protected onClose(): Promise<void> {
    return Promise.resolve();
  }

  /** A decoder given by `mix()` to share with its other sources (not owned). */
  protected get sharedDecoder(): ImageDecoder | undefined {
    return this.#sharedDecoder;
  }

  /**
   * True when a mix decodes this loader's samples itself: an image loader
   * then delivers them undecoded (see `MixSourceHooks.configure`).
   */
  protected get undecoded(): boolean {
    return this.#undecoded;
  }

  /** The byte budget (for subclasses that size native pools from it). */
  protected get budget(): ByteBudget {
    return this.#budget;
  }

  /** Class names (`classes[labelId]`); empty until opened or when unlabeled. */
  get classes(): string[] {
    return this.#source.info.classes;
  }

  /** The pinned manifest hash (after open). */
  get manifestHash(): string | undefined {
    return this.#source.info.manifestHash || undefined;
  }

  /**
   * How many batches this loader delivers in all, once opened, when it works
   * alone: its planned range cut into `batchSizeSamples` batches (the last
   * one shorter; none dropped), counted from the `resumeFrom` position.
   * `undefined` before {@linkcode open} and in distributed mode (the
   * coordinator decides while the job runs how much each node gets). With
   * `onDecodeError: "skip"` it is an upper bound: a batch whose every sample
   * was dropped is not delivered.
   *
   * @example Three files in batches of two: two batches
   * ```ts
   * import { loader, openManifestStore } from "jsr:@mx8/runtime";
   * import assert from "node:assert/strict";
   *
   * const dir = await Deno.makeTempDir();
   * await Deno.mkdir(`${dir}/data`);
   * for (const name of ["a", "b", "c"]) {
   *   await Deno.writeTextFile(`${dir}/data/${name}`, name);
   * }
   * {
   *   await using raw = loader(`${dir}/data`, {
   *     batchSizeSamples: 2,
   *     manifestStore: openManifestStore(`${dir}/store`),
   *     log: () => {},
   *   });
   *   await raw.open();
   *   assert.equal(raw.plannedBatches, 2);
   * }
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  get plannedBatches(): number | undefined {
    return this.#source instanceof LocalSource
      ? this.#source.batchCount
      : undefined;
  }

  /**
   * Resolves the dataset (or joins the job) and prepares the pipeline. Called
   * by the first iteration; call it yourself to fail early or read `classes`.
   */
  open(): Promise<void> {
    return this.#opened ??= this.#open();
  }

  async #open(): Promise<void> {
    this.#rssCap = this.#options.maxProcessRssBytes ?? await defaultRssCap();
    this.#rss = new RssGuard(this.#rssCap);
    await this.#nextSegment();
    await this.onOpen();
    if (this.#autotune) this.#startAutotune(this.#autotune.profile);
  }

  #startAutotune(
    tune: { profile: "safe" | "balanced" | "throughput"; tickMs: number },
  ): void {
    const rss = this.#rss!;
    const driver = new AutotuneDriver(
      tune.profile,
      {
        prefetchBatches: this.#knobs.prefetchBatches,
        maxQueueBatches: this.#knobs.maxQueueBatches,
        want: this.#source.want || autotuneProfile(tune.profile).startWant,
      },
      {
        // Counts a wait still in progress, so a long wait shows in every tick it spans.
        consumerWaitMs: () => this.#consumerWaitMs(),
        rssBytes: () => {
          const v = Deno.memoryUsage().rss;
          rss.observeRss(v);
          return v;
        },
        rssCapBytes: () => this.#rssCap,
        inflightBytes: () => this.#budget.usedBytes,
        inflightCapBytes: () => this.#budget.capBytes,
      },
      (k) => {
        this.#knobs.prefetchBatches = k.prefetchBatches;
        this.#knobs.maxQueueBatches = k.maxQueueBatches;
        this.#source.setWant?.(k.want);
      },
      this.#log,
      tune.tickMs,
    );
    this.#autotune!.driver = driver;
    driver.start();
  }

  /** Moves to the next segment; false when there is none. */
  async #nextSegment(): Promise<boolean> {
    const seg = await this.#source.next(this.#abort.signal);
    this.#segment = seg ?? undefined;
    if (!seg) return false;
    const root = this.#source.info.root;
    if (!this.#reader || this.#reader.root !== root) {
      await this.#reader?.close();
      this.#reader = new SampleReader(root, {
        concurrency: this.#options.fetchConcurrency,
        checkOpen: this.#source.info.checkOpen,
      });
    }
    const batches = seg.batches;
    this.#pipeline = new OrderedPipeline<Held<T>>(
      batches.length,
      (index, signal) => this.#buildAt(seg, index, batches[index], signal),
      {
        prefetchBatches: () => this.#knobs.prefetchBatches,
        maxQueueBatches: () => this.#knobs.maxQueueBatches,
      },
    );
    return true;
  }

  async #buildAt(
    segment: Segment,
    index: number,
    ids: Float64Array,
    signal: AbortSignal,
  ): Promise<Held<T>> {
    // Reservations are granted in batch order so the oldest batch never
    // waits behind younger ones (no deadlock with a FIFO budget).
    const myTurn = this.#acquireTurn;
    let passTurn!: () => void;
    this.#acquireTurn = new Promise((r) => passTurn = r);
    let bytes = 0;
    const reader = this.#reader!;
    const refs: SampleRef[] = Array.from(ids, (id) => segment.row(id));
    const budget = this.#budget;
    const ctx: BuildContext = {
      ids,
      segment,
      signal,
      fetch: async (extraBytes, afterRead) => {
        let reserved = 0;
        let turnHeld = false;
        const endTurn = () => {
          passTurn();
          if (turnHeld) budget.endTurn();
          turnHeld = false;
        };
        try {
          const sizes = await reader.sizes(refs, signal);
          const offsets = [0];
          for (const s of sizes) offsets.push(offsets[offsets.length - 1] + s);
          const payloadBytes = offsets[offsets.length - 1];
          await myTurn;
          await budget.acquire(payloadBytes + extraBytes, signal, ids.length);
          turnHeld = true;
          reserved = payloadBytes + extraBytes;
          bytes = payloadBytes;
          this.#rss?.observeInflight(budget.usedBytes);
          if (!afterRead) endTurn();
          const payload = new Uint8Array(payloadBytes);
          await reader.readInto(refs, sizes, payload, offsets, signal);
          if (afterRead) {
            const more = await afterRead(payload, offsets);
            if (more > 0) {
              await budget.acquire(more, signal, 0);
              reserved += more;
              this.#rss?.observeInflight(budget.usedBytes);
            }
            endTurn();
          }
          let payloadHeld = payloadBytes;
          const release = (n = reserved) => {
            const k = Math.min(n, reserved);
            reserved -= k;
            budget.release(k);
          };
          return {
            payload,
            offsets,
            get reservedBytes() {
              return reserved;
            },
            release,
            freePayload() {
              if (payloadHeld === 0) return;
              const buf = payload.buffer as ArrayBuffer;
              if (!buf.detached) buf.transfer(0);
              release(payloadHeld);
              payloadHeld = 0;
            },
          };
        } catch (err) {
          if (reserved > 0) budget.release(reserved);
          throw err;
        } finally {
          endTurn();
        }
      },
    };
    try {
      const built = await this.buildBatch(ctx);
      return { ...built, segment, index, ids, bytes };
    } finally {
      passTurn();
    }
  }

  #releaseHeld(): void {
    const h = this.#held;
    if (!h) return;
    this.#held = undefined;
    h.release();
    h.segment.done?.(h.index, h.ids, h.bytes);
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
    this.#releaseHeld();
    try {
      await this.open();
      const t0 = performance.now();
      this.#waitingSince = t0;
      let built: Held<T> | null = null;
      try {
        while (this.#segment) {
          built = await this.#pipeline!.next();
          if (built && batchLength(built.value) === 0) {
            // Every sample was skipped (onDecodeError "skip"): never hand out
            // an empty batch, but count its ids as done (checkpoint, progress).
            built.segment.delivered?.(built.index, built.ids);
            this.#held = built;
            this.#releaseHeld();
            built = null;
            continue;
          }
          if (built) break;
          await this.#nextSegment();
        }
      } finally {
        this.#waitMs += performance.now() - t0;
        this.#waitingSince = undefined;
      }
      if (built === null) return null;
      if (this.#closed) {
        // Closed while the batch was on its way: close() could not see it.
        built.release();
        return null;
      }
      this.#held = built;
      built.segment.delivered?.(built.index, built.ids);
      this.#rss!.observeInflight(this.#budget.usedBytes);
      this.#rss!.onBatch();
      this.#delivered.batches++;
      this.#delivered.samples += batchLength(built.value);
      return built.value;
    } catch (err) {
      // close() while we waited is a normal end (e.g. SIGTERM), not a failure.
      if (this.#closed) return null;
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
   * Distributed jobs resume through the coordinator (GetResumeCheckpoint).
   *
   * @returns The token.
   * @throws {Error} Before the loader has opened its dataset, or in distributed mode.
   */
  checkpoint(): string {
    if (!(this.#source instanceof LocalSource)) {
      throw new Error(
        "checkpoint() is for loaders working alone; a distributed job resumes from the coordinator's GetResumeCheckpoint token (mx8 coordinator --resume-from)",
      );
    }
    return this.#source.checkpoint();
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
      effectiveWant: this.#source.want,
      autotuneEnabled: this.#autotune !== undefined,
      autotuneProfile: this.#autotune?.profile.profile ?? "",
      autotunePressure: this.#autotune?.driver?.pressure ?? 0,
      autotuneLastDecision: this.#autotune?.driver?.lastDecision ?? "",
      autotuneAdjustmentsTotal: this.#autotune?.driver?.adjustments ?? 0,
      elapsedSeconds: (performance.now() - this.#startedAt) / 1000,
      consumerWaitSeconds: this.#consumerWaitMs() / 1000,
      decodeBackend: this.decodeBackend,
      decodeErrorsSkippedTotal: this.decodeErrorsSkipped,
      fetchRetriesTotal: this.#reader?.retries ?? 0,
      queueDepthBatches: this.#pipeline?.readyBatches ?? 0,
      prefetchDepthBatches: this.#pipeline?.buildingBatches ?? 0,
    };
  }

  #consumerWaitMs(): number {
    const since = this.#waitingSince;
    return this.#waitMs + (since === undefined ? 0 : performance.now() - since);
  }

  /** Stops background work and returns all memory. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new DOMException("loader closed", "AbortError"));
    this.#autotune?.driver?.stop();
    const h = this.#held;
    this.#held = undefined;
    h?.release();
    await this.#pipeline?.close();
    await this.#reader?.close();
    await this.#source.close();
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

/**
 * The RSS cap a loader uses when none is given: `MX8_MAX_PROCESS_RSS_BYTES`,
 * else the autotune profile's share of the machine's (or cgroup's) memory.
 *
 * @returns Bytes.
 * @throws {RangeError} When the variable is not a positive integer.
 */
export async function defaultRssCap(): Promise<number> {
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
