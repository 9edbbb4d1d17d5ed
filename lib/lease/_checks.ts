// Argument checks shared by the lease state machine (private).

import { LeaseError } from "./errors.ts";

/** Throws `invalid_argument` unless `id` is a non-empty string. */
export function requireId(what: string, id: string): void {
  if (typeof id !== "string" || id === "") {
    throw new LeaseError("invalid_argument", `${what} must not be empty`);
  }
}

/** Throws `invalid_argument` unless `value` is a non-negative safe integer. */
export function requireCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LeaseError(
      "invalid_argument",
      `${what} must be a non-negative integer: ${value}`,
    );
  }
}

/** Throws a `RangeError` unless the clock reading is finite. */
export function requireTime(nowMs: number): void {
  if (!Number.isFinite(nowMs)) {
    throw new RangeError(`Clock must be a finite number: ${nowMs}`);
  }
}

/** Throws a `RangeError` unless `value` is a safe integer `>= min`. */
export function requireInt(what: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${what} must be an integer >= ${min}: ${value}`);
  }
}

/** Orders node ids by UTF-16 code units (locale independent). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
