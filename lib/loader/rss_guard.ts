/**
 * The process RSS fail-fast of spec §5: sampled on the first batch and every
 * 16th, failing with `process rss X exceeds max_process_rss_bytes Y`.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** Thrown when the process RSS is above `maxProcessRssBytes`. */
export class RssLimitError extends Mx8Error {
  /** Sampled RSS. */
  readonly rssBytes: number;
  /** The cap. */
  readonly capBytes: number;

  /**
   * Creates the error with the spec's text.
   *
   * @param rssBytes Sampled RSS.
   * @param capBytes The cap.
   */
  constructor(rssBytes: number, capBytes: number) {
    super(
      `process rss ${rssBytes} exceeds max_process_rss_bytes ${capBytes}: lower maxInflightBytes, ` +
        `prefetchBatches or maxQueueBatches, or raise the cap (MX8_MAX_PROCESS_RSS_BYTES)`,
    );
    this.name = "RssLimitError";
    this.rssBytes = rssBytes;
    this.capBytes = capBytes;
  }
}

/** Batches between two RSS samples. */
export const RSS_CHECK_EVERY = 16;

/** Samples RSS on a schedule and tracks `ramHighWaterBytes`. */
export class RssGuard {
  /** The cap. */
  readonly capBytes: number;
  #batches = 0;
  #lastRss = 0;
  #ramHighWater = 0;
  #sample: () => number;

  /**
   * Creates a guard.
   *
   * @param capBytes The RSS cap.
   * @param sample Reads the RSS (default `Deno.memoryUsage().rss`).
   */
  constructor(
    capBytes: number,
    sample: () => number = () => Deno.memoryUsage().rss,
  ) {
    this.capBytes = capBytes;
    this.#sample = sample;
  }

  /** Last sampled RSS. */
  get rssBytes(): number {
    return this.#lastRss;
  }

  /** Max over time of max(inflight, sampled RSS). */
  get ramHighWaterBytes(): number {
    return this.#ramHighWater;
  }

  /**
   * Records inflight bytes towards the high-water mark.
   *
   * @param inflightBytes Current inflight bytes.
   */
  observeInflight(inflightBytes: number): void {
    if (inflightBytes > this.#ramHighWater) this.#ramHighWater = inflightBytes;
  }

  /**
   * Records an RSS reading taken elsewhere (no cap check).
   *
   * @param rssBytes The reading.
   */
  observeRss(rssBytes: number): void {
    this.#lastRss = rssBytes;
    if (rssBytes > this.#ramHighWater) this.#ramHighWater = rssBytes;
  }

  /**
   * Called once per batch; samples RSS on the first and every 16th.
   *
   * @throws {RssLimitError} When the sampled RSS is above the cap.
   */
  onBatch(): void {
    const n = this.#batches++;
    if (n % RSS_CHECK_EVERY !== 0) return;
    this.sampleNow();
  }

  /**
   * Samples RSS now.
   *
   * @returns The RSS.
   * @throws {RssLimitError} When it is above the cap.
   */
  sampleNow(): number {
    const rss = this.#sample();
    this.#lastRss = rss;
    if (rss > this.#ramHighWater) this.#ramHighWater = rss;
    if (rss > this.capBytes) throw new RssLimitError(rss, this.capBytes);
    return rss;
  }
}
