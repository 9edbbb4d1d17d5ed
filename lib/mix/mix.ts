/**
 * `mix()`: deterministic weighted mixing of several loaders under one
 * shared memory cap (spec §10). A thin shell around the pure scheduler: it
 * pulls batches from the sources in the scheduler's order, reserves all
 * their bytes in one plan-ordered budget, and checkpoints per-source
 * positions with a fingerprint of the mixture.
 *
 * @module
 */
import { BaseLoader, defaultRssCap, FOR_MIX } from "../loader/base_loader.ts";
import {
  DECODE_POOL,
  ImageFolderLoader,
  type ImageFolderLoaderOptions,
} from "../loader/image_folder.ts";
import type { NativeBufferPool } from "../native/pool.ts";
import { loadNativeLibrary } from "../native/library.ts";
import { LOADER_DEFAULTS } from "../loader/options.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../loader/checkpoint.ts";
import { RssGuard } from "../loader/rss_guard.ts";
import { AutotuneDriver, autotuneSetting } from "../loader/autotune_driver.ts";
import { autotuneProfile } from "../autotune/profiles.ts";
import {
  decodeMixCheckpoint,
  diffFingerprints,
  encodeMixCheckpoint,
  type MixCheckpoint,
  type MixFingerprint,
} from "./checkpoint.ts";
import {
  MixCapTooSmallError,
  MixChangedError,
  MixSourceExhaustedError,
} from "./errors.ts";
import { type MixOptions, pointsInUnits, weightPoints } from "./options.ts";
import { MixScheduler } from "./scheduler.ts";
import { SharedBudget } from "./shared_budget.ts";
import { SampleAssembler, sampleShape } from "./sample_assembler.ts";
import { DirectAssembler } from "./direct_assembler.ts";
import { type Stall, watchStall } from "./stall_watch.ts";
import { MixDecoders } from "./shared_decoder.ts";
import { type MixSource, pull, type Slot } from "./_slot.ts";
import { foldSourceStats, type MixStats } from "./stats.ts";
import type { WeightPoint } from "./weight_curve.ts";

export type { MixSource } from "./_slot.ts";

/** The sources of a mix: an array, or a record of named loaders. */
export type MixSources<L extends MixSource = MixSource> =
  | readonly L[]
  | Readonly<Record<string, L>>;

/** The batch type of a loader. */
export type BatchOf<L> = L extends BaseLoader<infer T> ? T : never;

/** A mixed batch: the sources' batch fields plus where each sample came from. */
export type MixedBatch<T> = Omit<T, "release"> & {
  /** Per sample: the index of its source, in the order the sources were given. */
  sourceIds: BigInt64Array;
  /** Returns the batch's memory now (else on the next iteration). Idempotent. */
  release(): void;
};

/**
 * Mixes several loaders into one deterministic, exactly weighted stream of
 * batches under one memory cap.
 *
 * After every prefix of n delivered units (batches; samples with
 * `granularity: "sample"`), each source's count is within ±1 of the
 * integral of its (scheduled) weight. The same sources, weights/schedule,
 * seed and epoch give the same sequence; another seed another, equally
 * exact one. All sources reserve in one budget, in the order the mix will
 * consume their batches.
 *
 * @typeParam L The sources' loader type.
 * @param sources Loaders (new, not yet iterated), as an array or a record.
 * @param options Weights or schedule, seed, epoch, granularity, exhaustion, caps, resume.
 * @returns The mixed loader.
 * @throws {TypeError} When sources or weights are malformed.
 *
 * @example Mix two tiny raw datasets 3:1, exactly
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataLoader, mix } from "@mx8/runtime";
 *
 * const root = await Deno.makeTempDir();
 * for (const [name, n] of [["web", 30], ["curated", 10]] as const) {
 *   await Deno.mkdir(`${root}/${name}`);
 *   for (let i = 0; i < n; i++) {
 *     await Deno.writeTextFile(`${root}/${name}/${i}.txt`, `${name} ${i}`);
 *   }
 * }
 * Deno.env.set("MX8_MANIFEST_STORE", `${root}/_store`);
 * const opts = { batchSizeSamples: 2 };
 * await using mixed = mix({
 *   web: new DataLoader(`${root}/web`, opts),
 *   curated: new DataLoader(`${root}/curated`, opts),
 * }, { weights: { web: 3, curated: 1 }, seed: 7, onSourceExhausted: "allow" });
 * let fromCurated = 0, batches = 0;
 * for await (const batch of mixed) {
 *   batches++;
 *   if (batch.sourceIds[0] === 1n) fromCurated++;
 *   if (batches === 8) assert.equal(fromCurated, 2); // 8 × 1/4
 * }
 * assert.equal(mixed.stats().deliveredSamplesTotal, 40);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function mix<L extends MixSource>(
  sources: MixSources<L>,
  options: MixOptions = {},
): MixLoader<BatchOf<L>> {
  return new MixLoader(sources, options);
}

/** A running mix: iterate it like a loader. */
export class MixLoader<T> implements AsyncIterable<MixedBatch<T>> {
  /** Source names, in order (record keys, or "0", "1", …). */
  readonly names: readonly string[];
  readonly #options: MixOptions;
  readonly #slots: Slot[];
  readonly #granularity: "batch" | "sample";
  readonly #mode: "error" | "allow" | "cycle";
  #points: WeightPoint[];
  #samplesPerUnit = 1;
  #sched?: MixScheduler;
  #budget?: SharedBudget;
  #decoders?: MixDecoders;
  #assembler?: SampleAssembler | DirectAssembler;
  /** Sample granularity with the sources' samples decoded straight into the mixed batches. */
  #direct = false;
  /** Manifest hashes the resume token recorded (checked as each source opens). */
  #resumeHashes?: string[];
  #rss?: RssGuard;
  #tune?: AutotuneDriver;
  /** When the consumer's current wait began (undefined: not waiting). */
  #waitingSince?: number;
  #opened?: Promise<void>;
  #prev?: () => void;
  #closed = false;
  #closing?: Promise<void>;
  #ended = false;
  #failed?: unknown;
  #replanned = false;
  #delivered = { batches: 0, samples: 0 };
  #startedAt = performance.now();
  #waitMs = 0;
  #log: (event: string, fields: Record<string, unknown>) => void;
  #openings = new WeakMap<MixSource, Promise<void>>();
  /**
   * Sources the plan reached before the first batch was delivered: opened
   * right after it, so the first batch has the machine to itself.
   */
  #deferredOpens: number[] | null = [];

  /**
   * Creates a mix; nothing is opened until the first batch (or `open()`).
   *
   * @param sources Loaders, as an array or a record.
   * @param options Mix options.
   * @throws {TypeError} When sources or weights are malformed.
   */
  constructor(sources: MixSources, options: MixOptions = {}) {
    const entries: [string, MixSource][] = Array.isArray(sources)
      ? (sources as readonly MixSource[]).map((l, i) => [String(i), l])
      : Object.entries(sources as Record<string, MixSource>);
    if (entries.length === 0) throw new TypeError("mix: no sources given");
    const seen = new Set<MixSource>();
    for (const [name, l] of entries) {
      if (!(l instanceof BaseLoader)) {
        throw new TypeError(
          `mix: source "${name}" is not a loader (make it with loader(), DataLoader or ImageFolderLoader)`,
        );
      }
      if (seen.has(l)) {
        throw new TypeError(`mix: source "${name}" is given twice`);
      }
      seen.add(l);
    }
    this.names = entries.map(([n]) => n);
    this.#options = options;
    this.#granularity = options.granularity ?? "batch";
    if (!["batch", "sample"].includes(this.#granularity)) {
      throw new TypeError(
        `mix: granularity must be "batch" or "sample", got "${this.#granularity}"`,
      );
    }
    this.#mode = options.onSourceExhausted ?? "error";
    if (!["error", "allow", "cycle"].includes(this.#mode)) {
      throw new TypeError(
        `mix: onSourceExhausted must be "error", "allow" or "cycle", got "${this.#mode}"`,
      );
    }
    const maxRep = options.maxRepetitions ?? Infinity;
    if (
      !(maxRep >= 0) || (maxRep !== Infinity && !Number.isSafeInteger(maxRep))
    ) {
      throw new TypeError(
        `mix: maxRepetitions must be an integer >= 0, got ${maxRep}`,
      );
    }
    this.#points = weightPoints(this.names, options);
    this.#slots = entries.map(([name, loader]) => {
      const hooks = loader[FOR_MIX]();
      return {
        name,
        loader,
        hooks,
        baseEpoch: hooks.options.epoch ?? 0,
        repetitions: 0,
        ranOut: false,
        dropped: false,
        manifestHash: "",
        units: 0,
        samples: 0,
        bytes: 0,
        waitMs: 0,
        opened: false,
        ready: () => Promise.resolve(),
        pendingToken: "",
        pulling: 0,
        pulledBatches: 0,
        pulledSamples: 0,
      };
    });
    this.#slots.forEach((s, i) => s.ready = () => this.#ready(i));
    if (this.#mode === "cycle") {
      const leased = this.#slots.find((s) => !s.hooks.local);
      if (leased) {
        throw new TypeError(
          `mix: onSourceExhausted "cycle" restarts a source at its next epoch; source "${leased.name}" is distributed (its coordinator owns its epoch): use "allow" or "error"`,
        );
      }
    }
    this.#log = options.log ??
      ((event, fields) =>
        console.error(
          JSON.stringify({ ts: new Date().toISOString(), event, ...fields }),
        ));
  }

  /**
   * Sets up the shared budget and decoder (and resumes, when asked), then
   * opens the source of the first unit. The other sources open when the
   * plan reaches them (their batch is the next to reserve): a 10-source mix
   * starts like one loader. Called by the first iteration.
   *
   * @returns Resolves when the first unit's source is open and building.
   */
  open(): Promise<void> {
    return this.#opened ??= this.#open().catch(async (err) => {
      this.#failed = err;
      await this.close();
      throw err;
    });
  }

  async #open(): Promise<void> {
    const o = this.#options, slots = this.#slots;
    const firstBatch = slots[0].hooks.options.batchSizeSamples ??
      LOADER_DEFAULTS.batchSizeSamples;
    const mixedBatch = o.batchSizeSamples ?? firstBatch;
    this.#samplesPerUnit = this.#granularity === "batch" ? mixedBatch : 1;
    const seed = BigInt(o.seed ?? 0), epoch = o.epoch ?? 0;
    const config = {
      points: pointsInUnits(this.#points, this.#samplesPerUnit),
      seed,
      epoch,
    };
    const resume = o.resumeFrom !== undefined
      ? decodeMixCheckpoint(o.resumeFrom)
      : undefined;
    let sched = new MixScheduler(config);
    if (resume) sched = this.#resumeScheduler(resume, config);
    this.#sched = sched;
    const cap = this.capBytes;
    const budget = this.#budget = new SharedBudget(
      cap,
      sched,
      this.#granularity === "sample",
    );
    const decoders = this.#decoders = new MixDecoders({
      capBytes: cap,
      pool: (o as { [DECODE_POOL]?: () => NativeBufferPool | undefined })
        [DECODE_POOL]?.(),
    });
    if (this.#granularity === "sample") {
      const shape = sampleShape(slots, mixedBatch, cap);
      const first = slots[0].hooks.options as ImageFolderLoaderOptions;
      this.#direct = decodesDirect(slots);
      let mixDecoder: ReturnType<MixDecoders["for"]> | undefined;
      this.#assembler = this.#direct
        ? new DirectAssembler({
          slots,
          batchSize: mixedBatch,
          shape,
          budget,
          decoder: () => mixDecoder ??= decoders.for(first),
          maxPixels: first.maxPixels,
          depth: () =>
            this.#tune?.knobs.prefetchBatches ??
              Math.max(
                ...slots.map((s) =>
                  s.hooks.options.prefetchBatches ??
                    LOADER_DEFAULTS.prefetchBatches
                ),
              ),
        })
        : new SampleAssembler(
          slots,
          mixedBatch,
          budget,
          () => decoders.nativePool(),
        );
    }
    const rssCaps = [
      o.maxProcessRssBytes,
      ...slots.map((s) => s.hooks.options.maxProcessRssBytes),
    ].filter((c): c is number => c !== undefined);
    const rssCap = rssCaps.length
      ? Math.min(...rssCaps)
      : await defaultRssCap();
    this.#rss = new RssGuard(rssCap);
    slots.forEach((s, i) => {
      const r = resume?.sources[i];
      s.pendingToken = r?.token ?? "";
      s.hooks.configure({
        budget: budget.forSource(i),
        maxProcessRssBytes: rssCap,
        resumeFrom: r?.token || undefined,
        tunedByMix: true,
        decoder: s.loader instanceof ImageFolderLoader
          ? decoders.for(s.hooks.options as ImageFolderLoaderOptions)
          : undefined,
        undecoded: this.#direct,
      });
    });
    this.#startAutotune();
    // A distributed source's heartbeats show the node's whole mix.
    for (const s of slots) {
      if (!s.hooks.local) s.hooks.reportStats(() => this.stats());
    }
    budget.start((i) => {
      if (this.#deferredOpens) this.#deferredOpens.push(i);
      else void this.#ready(i).catch(() => {});
    });
    const first = sched.peek();
    if (first >= 0) await this.#ready(first);
  }

  /**
   * One autotune controller for the whole mix (the mix's `autotune`, else
   * the first source's that has one): it reads the mix's consumer wait, the
   * process RSS and the shared budget, and sets the same prefetch / queue /
   * want on every source. The sources run none of their own.
   */
  #startAutotune(): void {
    const o = this.#options;
    const tune = autotuneSetting(o.autotune) ??
      this.#slots.map((s) => autotuneSetting(s.hooks.options.autotune))
        .find((t) => t !== undefined);
    if (!tune) return;
    const p = autotuneProfile(tune.profile);
    const rss = this.#rss!, budget = this.#budget!;
    const driver = this.#tune = new AutotuneDriver(
      tune.profile,
      {
        prefetchBatches: p.startPrefetchBatches,
        maxQueueBatches: p.startMaxQueueBatches,
        want: p.startWant,
      },
      {
        consumerWaitMs: () => this.#consumerWaitMs(),
        rssBytes: () => {
          const v = Deno.memoryUsage().rss;
          rss.observeRss(v);
          return v;
        },
        rssCapBytes: () => rss.capBytes,
        inflightBytes: () => budget.usedBytes,
        inflightCapBytes: () => budget.capBytes,
      },
      (k) => {
        for (const s of this.#slots) s.hooks.setKnobs(k);
      },
      (event, fields) => this.#log(event, { scope: "mix", ...fields }),
      tune.tickMs,
    );
    driver.start();
  }

  #consumerWaitMs(): number {
    const since = this.#waitingSince;
    return this.#waitMs + (since === undefined ? 0 : performance.now() - since);
  }

  /** The effective shared cap: the smallest of the mix's and the sources' caps. */
  get capBytes(): number {
    const caps = [
      this.#options.maxInflightBytes,
      ...this.#slots.map((s) => s.hooks.options.maxInflightBytes),
    ].filter((c): c is number => c !== undefined);
    return caps.length ? Math.min(...caps) : LOADER_DEFAULTS.maxInflightBytes;
  }

  /** Opens source `i` (once) and starts it building; checks its manifest on resume. */
  #ready(i: number): Promise<void> {
    const slot = this.#slots[i];
    const loader = slot.loader;
    const opening = this.#openings.get(loader);
    if (opening) return opening;
    const p = (async () => {
      await loader.open();
      if (slot.loader !== loader || this.#closed) return;
      const now = loader.manifestHash ?? "";
      const was = this.#resumeHashes?.[i] ?? "";
      if (was !== "" && was !== now && slot.repetitions === 0) {
        throw new MixChangedError(
          [
            `source "${slot.name}" manifest was ${was}, now ${now} (open it @sha256:${was})`,
          ],
          "resume with the same sources, manifests and granularity",
        );
      }
      slot.manifestHash = now;
      slot.opened = true;
      slot.hooks.prime();
    })();
    this.#openings.set(loader, p);
    return p;
  }

  #resumeScheduler(
    c: MixCheckpoint,
    config: ConstructorParameters<typeof MixScheduler>[0],
  ): MixScheduler {
    if (c.sources.length === this.#slots.length) {
      // Manifests are checked once the sources are open.
      c.fingerprint.sources.forEach((f, i) =>
        this.#slots[i].manifestHash = f.manifestHash
      );
    }
    const now = this.#fingerprint();
    const { fixed, mixture } = diffFingerprints(c.fingerprint, now);
    if (fixed.length) {
      throw new MixChangedError(
        fixed,
        "resume with the same sources, manifests and granularity",
      );
    }
    this.#resumeHashes = c.fingerprint.sources.map((f) => f.manifestHash);
    const was = c.fingerprint;
    const old = new MixScheduler({
      points: pointsInUnits(was.points, was.samplesPerUnit),
      seed: BigInt(was.seed),
      epoch: was.epoch,
    }, c.scheduler);
    c.sources.forEach((p, i) => {
      const s = this.#slots[i];
      s.repetitions = p.repetitions;
      s.ranOut = p.ranOut;
      s.dropped = !c.scheduler.active[i];
      s.manifestHash = c.fingerprint.sources[i].manifestHash;
      s.units = old.count(i);
    });
    if (mixture.length === 0) return old;
    if (!this.#options.allowMixChange) {
      throw new MixChangedError(
        mixture,
        "resume with the same mixture, or pass allowMixChange: true to re-plan the rest from the recorded counts",
      );
    }
    this.#replanned = true;
    this.#log("mix_replanned", { changes: mixture, n: old.n });
    return old.rephased(config);
  }

  #fingerprint(): MixFingerprint {
    const o = this.#options;
    return {
      sources: this.#slots.map((s) => ({
        name: s.name,
        manifestHash: s.manifestHash,
      })),
      points: this.#points,
      seed: String(BigInt(o.seed ?? 0)),
      epoch: o.epoch ?? 0,
      granularity: this.#granularity,
      samplesPerUnit: this.#samplesPerUnit,
    };
  }

  /**
   * Returns the next mixed batch (releasing the previous one), or `null` at the end.
   *
   * @returns The batch or null.
   * @throws {MixSourceExhaustedError} When a source runs out under `onSourceExhausted: "error"`.
   * @throws The error that stopped a source (the mix is closed by then).
   */
  async next(): Promise<MixedBatch<T> | null> {
    if (this.#failed) throw this.#failed;
    if (this.#closed || this.#ended) return null;
    this.#prev?.();
    this.#prev = undefined;
    const t0 = performance.now();
    this.#waitingSince = t0;
    const unwatch = this.#granularity === "sample"
      ? watchStall(
        { blocked: () => this.#blocked(), activity: () => this.#activity() },
        (s) => this.#stalled(s),
      )
      : undefined;
    try {
      await this.open();
      const out = this.#granularity === "batch"
        ? await this.#nextBatch()
        : await this.#assembler!.next(
          this.#sched!,
          (i) => this.#ranOut(i),
        );
      if (this.#failed) {
        await this.close();
        throw this.#failed;
      }
      if (out === null) {
        this.#ended = true;
        return null;
      }
      this.#prev = out.release;
      const deferred = this.#deferredOpens;
      if (deferred) {
        this.#deferredOpens = null;
        for (const i of deferred) void this.#ready(i).catch(() => {});
      }
      this.#delivered.batches++;
      this.#delivered.samples += out.sampleIds.length;
      this.#rss!.observeInflight(this.#budget!.usedBytes);
      this.#rss!.onBatch();
      return out as unknown as MixedBatch<T>;
    } catch (err) {
      if (this.#failed) {
        await this.close();
        throw this.#failed;
      }
      if (this.#closed) return null;
      this.#failed = err;
      await this.close();
      throw err;
    } finally {
      unwatch?.();
      this.#waitMs += performance.now() - t0;
      this.#waitingSince = undefined;
    }
  }

  /** The source a waiting sample mix cannot get a batch from (see stall_watch.ts). */
  #blocked(): Stall | undefined {
    const budget = this.#budget;
    if (!budget || this.#assembler?.decoding) return undefined;
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i];
      if (slot.pulling === 0) continue;
      const need = budget.blockedBytes(i, slot.pulledSamples);
      if (need === undefined) continue;
      return {
        source: slot.name,
        needBytes: need,
        usedBytes: budget.usedBytes,
        capBytes: budget.capBytes,
      };
    }
    return undefined;
  }

  #activity(): number {
    return this.#budget?.activity ?? 0;
  }

  /** Fails the mix waiting in `next()` (it closes, then throws). */
  #stalled(s: Stall): void {
    if (this.#failed || this.#closed) return;
    this.#failed = new MixCapTooSmallError(
      s.source,
      s.needBytes,
      s.usedBytes,
      s.capBytes,
    );
    this.#log("mix_stalled", { ...s });
    void this.close();
  }

  async #nextBatch(): Promise<
    | { sampleIds: BigInt64Array; sourceIds: BigInt64Array; release(): void }
    | null
  > {
    const sched = this.#sched!;
    for (;;) {
      const i = sched.peek();
      if (i < 0) return null;
      const slot = this.#slots[i];
      const b = await pull(slot) as
        | { sampleIds: BigInt64Array; release(): void }
        | null;
      if (b === null) {
        if (await this.#ranOut(i)) return null;
        continue;
      }
      sched.next();
      this.#budget!.consumed(sched.n);
      const n = b.sampleIds.length;
      slot.units++;
      slot.samples += n;
      slot.bytes += batchBytes(b);
      const hooks = slot.hooks;
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        hooks.releaseHeld();
      };
      return {
        ...b,
        sourceIds: new BigInt64Array(n).fill(BigInt(i)),
        release,
      };
    }
  }

  /**
   * Source `i` ran out at the scheduler's position. Returns true when the
   * mix ends here.
   */
  async #ranOut(i: number): Promise<boolean> {
    const slot = this.#slots[i], sched = this.#sched!, budget = this.#budget!;
    slot.ranOut = true;
    this.#log("mix_source_ran_out", {
      source: slot.name,
      mode: this.#mode,
      deliveredUnits: sched.count(i),
      n: sched.n,
      repetitions: slot.repetitions,
    });
    if (this.#mode === "error") {
      budget.closeSlot(i);
      for (let j = 0; j < this.#slots.length; j++) {
        const other = this.#slots[j];
        if (j === i || other.ranOut || other.dropped) continue;
        const more = this.#assembler?.hasSamples(j) ||
          (await pull(other)) !== null;
        if (more) {
          throw new MixSourceExhaustedError(
            slot.name,
            `after ${
              // Sample units are samples (some may still be in the batch being made).
              this.#granularity === "sample"
                ? sched.count(i)
                : slot.samples} samples in ${
              sched.count(i)
            } ${this.#unitName()} ` +
              `(target ${
                sched.target(i).toFixed(2)
              } at ${sched.n} ${this.#unitName()} delivered)`,
            sched.count(i),
            sched.target(i),
          );
        }
        other.ranOut = true;
        budget.closeSlot(j);
      }
      return true;
    }
    const maxRep = this.#options.maxRepetitions ?? Infinity;
    if (this.#mode === "cycle") {
      if (this.#slots.every((s) => s.ranOut || s.dropped)) return true;
      if (slot.repetitions < maxRep) {
        slot.repetitions++;
        const old = slot.loader;
        const fresh = slot.hooks.respawn({
          epoch: slot.baseEpoch + slot.repetitions,
          resumeFrom: undefined,
        });
        await old.close();
        const hooks = fresh[FOR_MIX]();
        hooks.configure({
          budget: budget.forSource(i),
          maxProcessRssBytes: this.#rss!.capBytes,
          decoder: fresh instanceof ImageFolderLoader
            ? this.#decoders!.for(hooks.options as ImageFolderLoaderOptions)
            : undefined,
          tunedByMix: true,
          undecoded: this.#direct,
        });
        if (this.#tune) hooks.setKnobs(this.#tune.knobs);
        slot.loader = fresh;
        slot.hooks = hooks;
        slot.opened = false;
        slot.pendingToken = "";
        await this.#ready(i);
        return false;
      }
    }
    // allow, or cycle past maxRepetitions: drop it, renormalize the rest.
    slot.dropped = true;
    sched.exhaust(i);
    budget.replan(sched);
    await slot.loader.close();
    return sched.peek() < 0;
  }

  /** The scheduler at the consumer's position (the direct assembler composes ahead). */
  #consumerScheduler(): MixScheduler | undefined {
    const a = this.#assembler;
    return (a instanceof DirectAssembler ? a.delivered : undefined) ??
      this.#sched;
  }

  #unitName(): string {
    return this.#granularity === "batch" ? "batches" : "samples";
  }

  /**
   * A token that resumes after the batches delivered so far (`resumeFrom`),
   * holding each source's position and a fingerprint of the mixture.
   *
   * @returns The token.
   * @throws {Error} Before the mix has opened, or when a source is distributed
   *   (it resumes through its coordinator).
   */
  checkpoint(): string {
    const sched = this.#consumerScheduler();
    if (!sched || !this.#budget) {
      throw new Error(
        "checkpoint() needs an open mix: call open() or take a batch first",
      );
    }
    const sources = this.#slots.map((s, i) => {
      let token = "";
      if (!s.dropped) {
        if (!s.hooks.local) {
          throw new Error(
            `checkpoint(): mix source "${s.name}" is distributed; it resumes through its coordinator (GetResumeCheckpoint)`,
          );
        }
        if (!s.opened) {
          // Not opened yet: still at its start (or its resume position).
          return {
            name: s.name,
            token: s.pendingToken,
            repetitions: s.repetitions,
            ranOut: s.ranOut,
          };
        }
        token = s.loader.checkpoint();
        const unread = this.#assembler?.unread(i) ?? 0;
        if (unread > 0) {
          const c = decodeCheckpoint(token);
          token = encodeCheckpoint({ ...c, position: c.position - unread });
        }
      }
      return {
        name: s.name,
        token,
        repetitions: s.repetitions,
        ranOut: s.ranOut,
      };
    });
    return encodeMixCheckpoint({
      v: 1,
      fingerprint: this.#fingerprint(),
      scheduler: sched.state(),
      sources,
    });
  }

  /**
   * Current statistics: the loader fields over all sources (bytes from the
   * shared budget) and `mixSources[]`.
   *
   * @returns A snapshot.
   */
  stats(): MixStats {
    const sched = this.#consumerScheduler(), budget = this.#budget;
    const n = sched?.n ?? 0;
    const all = this.#slots.map((s) => s.loader.stats());
    return {
      deliveredBatchesTotal: this.#delivered.batches,
      deliveredSamplesTotal: this.#delivered.samples,
      inflightBytes: budget?.usedBytes ?? 0,
      inflightHighWaterBytes: budget?.highWaterBytes ?? 0,
      processRssBytes: this.#rss?.rssBytes ?? 0,
      ramHighWaterBytes: Math.max(
        this.#rss?.ramHighWaterBytes ?? 0,
        budget?.highWaterBytes ?? 0,
      ),
      maxInflightBytes: budget?.capBytes ?? 0,
      maxProcessRssBytes: this.#rss?.capBytes ?? 0,
      ...foldSourceStats(all),
      ...this.#tuneStats(),
      elapsedSeconds: (performance.now() - this.#startedAt) / 1000,
      consumerWaitSeconds: this.#waitMs / 1000,
      mixGranularity: this.#granularity,
      mixUnitsDelivered: n,
      mixReplanned: this.#replanned,
      mixSources: this.#slots.map((s, i) => ({
        name: s.name,
        manifestHash: s.manifestHash,
        deliveredUnits: sched?.count(i) ?? 0,
        deliveredSamples: s.samples,
        deliveredBytes: s.bytes,
        targetShare: n && sched ? sched.target(i) / n : 0,
        actualShare: n && sched ? sched.count(i) / n : 0,
        repetitions: s.repetitions,
        ranOut: s.ranOut,
        dropped: s.dropped,
        waitSeconds: s.waitMs / 1000,
        opened: s.opened,
      })),
      mixDecodeThreadBudget: this.#decoders?.gate?.budget ?? 0,
      mixDecodeThreadsHighWater: this.#decoders?.gate?.highWater ?? 0,
      mixDecodePoolBytes: this.#decoders?.pool?.capacityBytes ?? 0,
      mixSampleAssembly: this.#granularity === "batch"
        ? ""
        : this.#direct
        ? "direct"
        : "copy",
    };
  }

  /**
   * Iterates mixed batches; each iteration releases the previous batch's memory.
   *
   * @yields Mixed batches in deterministic order.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<MixedBatch<T>> {
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

  #tuneStats(): Partial<MixStats> {
    const d = this.#tune;
    if (!d) return {};
    return {
      autotuneEnabled: true,
      autotuneProfile: d.profile,
      autotunePressure: d.pressure,
      autotuneLastDecision: d.lastDecision,
      autotuneAdjustmentsTotal: d.adjustments,
      // The knobs every source runs with (not summed).
      effectivePrefetchBatches: d.knobs.prefetchBatches,
      effectiveMaxQueueBatches: d.knobs.maxQueueBatches,
      effectiveWant: d.knobs.want,
    };
  }

  /**
   * Closes every source and returns all memory. Idempotent: every call
   * resolves once all is returned.
   *
   * @returns Resolves when closed.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#tune?.stop();
    this.#prev?.();
    this.#prev = undefined;
    await this.#assembler?.close();
    await Promise.all(this.#slots.map((s) => s.loader.close()));
    this.#decoders?.close();
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function batchBytes(b: object): number {
  const images = (b as { images?: { data: ArrayBufferView } }).images;
  if (images) return images.data.byteLength;
  const payload = (b as { payload?: Uint8Array }).payload;
  return payload?.byteLength ?? 0;
}

/**
 * Whether a sample mix can decode its sources' samples itself, straight into
 * each mixed batch: every source fails on a bad image (a skipped one would
 * leave a hole in a planned batch) and decodes alike (backend, threads,
 * pixel guard). Otherwise each source decodes its own batches and the mix
 * copies their samples.
 */
function decodesDirect(
  slots: readonly { hooks: { options: object } }[],
): boolean {
  const opts = slots.map((s) => s.hooks.options as ImageFolderLoaderOptions);
  const key = (o: ImageFolderLoaderOptions) =>
    `${o.decodeBackend ?? "auto"}|${o.decodeThreads ?? 0}|${o.maxPixels ?? ""}`;
  // With sharp, each held undecoded source batch keeps its (large) decode
  // working memory reserved until the mix decodes it; at a tight cap those
  // reservations fill the budget before a mixed batch can be composed (a
  // wait nothing can end), so sharp sources take the copying path.
  const backend = opts[0]?.decodeBackend ?? "auto";
  if (backend === "sharp" || !loadNativeLibrary().ok) return false;
  return opts.every((o) =>
    (o.onDecodeError ?? "error") === "error" && key(o) === key(opts[0])
  );
}
