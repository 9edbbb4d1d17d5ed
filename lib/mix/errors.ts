/**
 * Errors a mix raises for its callers to catch.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** A source ran out under `onSourceExhausted: "error"` while another had samples left. */
export class MixSourceExhaustedError extends Mx8Error {
  /** The source's name. */
  readonly source: string;
  /** Units (batches, or samples) it delivered. */
  readonly deliveredUnits: number;
  /** Its target after the units delivered so far. */
  readonly targetUnits: number;

  /**
   * Creates the error.
   *
   * @param source Source name.
   * @param detail Counts and where it stopped.
   * @param deliveredUnits Units it delivered.
   * @param targetUnits Its target then.
   */
  constructor(
    source: string,
    detail: string,
    deliveredUnits: number,
    targetUnits: number,
  ) {
    super(
      `mix source "${source}" ran out ${detail} while other sources still had samples: ` +
        `pass onSourceExhausted: "allow" to drain the rest, or "cycle" to repeat it`,
    );
    this.name = "MixSourceExhaustedError";
    this.source = source;
    this.deliveredUnits = deliveredUnits;
    this.targetUnits = targetUnits;
  }
}

/** A mix checkpoint does not match the mix resuming from it. */
export class MixChangedError extends Mx8Error {
  /** What changed, one entry each. */
  readonly changes: string[];

  /**
   * Creates the error.
   *
   * @param changes What changed.
   * @param hint How to proceed.
   */
  constructor(changes: string[], hint: string) {
    super(
      `mix checkpoint does not match this mix: ${changes.join("; ")}; ${hint}`,
    );
    this.name = "MixChangedError";
    this.changes = changes;
  }
}

/**
 * A sample mix cannot make its next batch within its cap: the batch draws
 * from several sources, each holds one batch (compressed bytes, tensor,
 * decode working memory) until the mixed batch is made, and they do not all
 * fit in `maxInflightBytes`.
 */
export class MixCapTooSmallError extends Mx8Error {
  /** The source whose batch could not be reserved. */
  readonly source: string;
  /** Bytes its batch asked for. */
  readonly needBytes: number;
  /** Bytes the other held batches reserved then. */
  readonly usedBytes: number;
  /** The mix's cap. */
  readonly capBytes: number;

  /**
   * Creates the error.
   *
   * @param source Source name.
   * @param needBytes Bytes its batch asked for.
   * @param usedBytes Bytes reserved then.
   * @param capBytes The cap.
   */
  constructor(
    source: string,
    needBytes: number,
    usedBytes: number,
    capBytes: number,
  ) {
    super(
      `mix: granularity "sample" cannot make its next batch within maxInflightBytes ${capBytes}: ` +
        `source "${source}"'s next batch needs ${needBytes} bytes while ${usedBytes} are held by the source batches this mixed batch also draws from ` +
        `(each keeps its compressed bytes, tensor and decode working memory until the mixed batch is made); ` +
        `raise maxInflightBytes (a batch of every source it draws from must fit at once: more than ${
          usedBytes + needBytes
        } bytes here), lower the sources' batchSizeSamples, or use granularity "batch"`,
    );
    this.name = "MixCapTooSmallError";
    this.source = source;
    this.needBytes = needBytes;
    this.usedBytes = usedBytes;
    this.capBytes = capBytes;
  }
}
