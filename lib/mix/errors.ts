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
