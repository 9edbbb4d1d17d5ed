/**
 * The typed error of the lease state machine.
 *
 * @module
 */

/**
 * Why a lease operation was refused. The RPC layer maps these one to one onto
 * Connect codes: `invalid_argument` → `InvalidArgument`, `failed_precondition`
 * → `FailedPrecondition`, `not_found` → `NotFound`.
 */
export type LeaseErrorCode =
  | "invalid_argument"
  | "failed_precondition"
  | "not_found";

/** Options of {@linkcode LeaseError}. */
export interface LeaseErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A refused lease operation (a caller mistake or a protocol state the caller
 * must react to). Programmer mistakes in the state machine itself throw
 * built-in errors instead.
 *
 * @example Catch a refused request and read its code
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaseError } from "./errors.ts";
 *
 * const err = new LeaseError("invalid_argument", "Want must be > 0: 0");
 * assert.equal(err.name, "LeaseError");
 * assert.equal(err.code, "invalid_argument");
 * assert.ok(err instanceof Error);
 * ```
 */
export class LeaseError extends Error {
  /** Why the operation was refused. */
  readonly code: LeaseErrorCode;

  /**
   * Creates a lease error.
   *
   * @param code Why the operation was refused.
   * @param message Sentence-case message, values quoted, detail after a colon.
   * @param options The underlying cause, if any.
   */
  constructor(
    code: LeaseErrorCode,
    message: string,
    options?: LeaseErrorOptions,
  ) {
    super(message, options);
    this.name = "LeaseError";
    this.code = code;
  }
}
