/**
 * Status codes of `libmx8_ffi` and the single place that turns them into
 * errors.
 *
 * @module
 */

/** `Mx8Status` values (mirror of `ffi/src/status.rs`). */
export const Status = {
  Ok: 0,
  NullArgument: 1,
  InvalidArgument: 2,
  PoolExhausted: 3,
  OutOfMemory: 4,
  Panic: 5,
  CorruptJpeg: 6,
  NotJpeg: 7,
  EmptyInput: 8,
  TooManyPixels: 9,
  BufferTooSmall: 10,
  TurboJpegInit: 11,
  Io: 12,
  NotFound: 13,
  PermissionDenied: 14,
  ChangedSize: 15,
  NeedsColorTransform: 16,
} as const;

/** A status code name. */
export type StatusName = keyof typeof Status;

const NAMES: readonly StatusName[] = Object.entries(Status)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name as StatusName);

/**
 * Returns the name of a status code (`"Unknown"` for codes this build does
 * not know).
 *
 * @param status A status code.
 * @returns Its name.
 *
 * @example
 * ```ts
 * import { statusName } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(statusName(3), "PoolExhausted");
 * ```
 */
export function statusName(status: number): StatusName | "Unknown" {
  return NAMES[status] ?? "Unknown";
}

/**
 * An error reported by `libmx8_ffi`.
 *
 * @example
 * ```ts
 * import { NativeError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new NativeError(3, "full");
 * assert.equal(e.code, "PoolExhausted");
 * ```
 */
export class NativeError extends Error {
  /** The numeric `Mx8Status`. */
  readonly status: number;
  /** The status name, e.g. `"PoolExhausted"`. */
  readonly code: StatusName | "Unknown";

  /**
   * Creates an error for a failed `mx8_*` call.
   *
   * @param status The numeric status code.
   * @param message Detail text.
   * @param options Standard error options (`cause`).
   */
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NativeError";
    this.status = status;
    this.code = statusName(status);
  }
}

/**
 * Thrown when the native library is needed but cannot be loaded.
 *
 * @example
 * ```ts
 * import { NativeLibraryUnavailableError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.match(new NativeLibraryUnavailableError("gone").message, /MX8_FFI_LIB/);
 * ```
 */
export class NativeLibraryUnavailableError extends Error {
  /** Why the library could not be loaded. */
  readonly reason: string;

  /**
   * Creates the error from the loader's reason.
   *
   * @param reason Why loading failed.
   * @param options Standard error options (`cause`).
   */
  constructor(reason: string, options?: ErrorOptions) {
    super(
      `Native library libmx8_ffi is unavailable: ${reason} (build it with "deno task build:ffi" or set MX8_FFI_LIB to its path)`,
      options,
    );
    this.name = "NativeLibraryUnavailableError";
    this.reason = reason;
  }
}

const decoder = new TextDecoder();

/**
 * Reads a NUL-terminated UTF-8 message from `buf` (the whole buffer when it
 * has no NUL).
 *
 * @param buf Bytes written by the library.
 * @returns The message.
 *
 * @example
 * ```ts
 * import { readMessage } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(readMessage(new Uint8Array([104, 105, 0, 120])), "hi");
 * ```
 */
export function readMessage(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return decoder.decode(end < 0 ? buf : buf.subarray(0, end));
}

/**
 * Throws a {@linkcode NativeError} unless `status` is `Ok`.
 *
 * @param status The status returned by an `mx8_*` call.
 * @param message Error text: a string, or the call's error buffer.
 * @throws {NativeError} When `status` is not `Ok`.
 *
 * @example
 * ```ts
 * import { unwrap } from "./errors.ts";
 * import assert from "node:assert/strict";
 * unwrap(0);
 * assert.throws(() => unwrap(2, "bad offsets"), /bad offsets/);
 * ```
 */
export function unwrap(status: number, message?: string | Uint8Array): void {
  if (status === Status.Ok) return;
  const detail = typeof message === "string"
    ? message
    : message
    ? readMessage(message)
    : "";
  const name = statusName(status);
  throw new NativeError(
    status,
    detail ? `${name}: ${detail}` : `${name} (status ${status})`,
  );
}

/**
 * A {@linkcode NativeError} for a missing file or a denied permission as the
 * matching `Deno.errors` class (so `pathError` words it like Deno's own
 * failures); anything else is returned unchanged.
 *
 * @param err A caught error.
 * @returns The error to word.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asDenoError, NativeError, Status } from "./errors.ts";
 * const err = asDenoError(new NativeError(Status.NotFound, "gone"));
 * assert.ok(err instanceof Deno.errors.NotFound);
 * ```
 */
export function asDenoError(err: unknown): unknown {
  if (!(err instanceof NativeError)) return err;
  if (err.code === "NotFound") return new Deno.errors.NotFound(err.message);
  if (err.code === "PermissionDenied") {
    return new Deno.errors.PermissionDenied(err.message);
  }
  return err;
}
