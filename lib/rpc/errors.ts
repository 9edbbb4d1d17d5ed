/**
 * Mapping the lease state machine's refusals onto Connect error codes
 * (spec §6): `invalid_argument` → `InvalidArgument`, `failed_precondition` →
 * `FailedPrecondition`, `not_found` → `NotFound`.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { LeaseError, type LeaseErrorCode } from "../lease/errors.ts";

const CODES: Record<LeaseErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  failed_precondition: Code.FailedPrecondition,
  not_found: Code.NotFound,
};

/**
 * Returns the Connect code of a lease error code.
 *
 * @param code A {@linkcode LeaseError} code.
 * @returns The Connect code.
 *
 * @example Map a code
 * ```ts
 * import assert from "node:assert/strict";
 * import { Code } from "@connectrpc/connect";
 * import { connectCodeOf } from "./errors.ts";
 *
 * assert.equal(connectCodeOf("not_found"), Code.NotFound);
 * ```
 */
export function connectCodeOf(code: LeaseErrorCode): Code {
  return CODES[code];
}

/**
 * Turns anything a handler threw into a `ConnectError`: a
 * {@linkcode LeaseError} keeps its message under the matching code, a
 * `ConnectError` passes through, and anything else becomes `Internal` (the
 * original stays in `cause`).
 *
 * @param err What was thrown.
 * @returns The error to send to the client.
 *
 * @example A refused lease request becomes FailedPrecondition
 * ```ts
 * import assert from "node:assert/strict";
 * import { Code } from "@connectrpc/connect";
 * import { LeaseError } from "../lease/errors.ts";
 * import { toConnectError } from "./errors.ts";
 *
 * const err = toConnectError(
 *   new LeaseError("failed_precondition", "Membership barrier not met: 1 of 2 nodes registered"),
 * );
 * assert.equal(err.code, Code.FailedPrecondition);
 * assert.equal(err.rawMessage, "Membership barrier not met: 1 of 2 nodes registered");
 * ```
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof LeaseError) {
    return new ConnectError(
      err.message,
      connectCodeOf(err.code),
      undefined,
      undefined,
      err,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectError(
    `Internal coordinator error: ${message}`,
    Code.Internal,
    undefined,
    undefined,
    err,
  );
}
