// Shared helpers of the lease tests.

import assert from "node:assert/strict";
import { LeaseError, type LeaseErrorCode } from "../../lib/lease/errors.ts";
import { LeaseState, type LeaseStateOptions } from "../../lib/lease/state.ts";

/** A small job with invariant checks on after every mutation. */
export function makeState(
  overrides: Partial<LeaseStateOptions> = {},
): LeaseState<{ cores?: number }, { inflight?: number }> {
  return new LeaseState({
    jobId: "job",
    totalSamples: 100,
    blockSize: 10,
    worldSize: 2,
    leaseTtlMs: 1000,
    seed: 7n,
    epoch: 0,
    manifestHash: "hash",
    checkInvariants: true,
    ...overrides,
  });
}

/** Asserts that `fn` throws a {@linkcode LeaseError} with `code`. */
export function assertLeaseError(
  fn: () => unknown,
  code: LeaseErrorCode,
  message?: RegExp,
): void {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof LeaseError, `not a LeaseError: ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}
