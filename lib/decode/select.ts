/**
 * Picks a decode backend.
 *
 * @module
 */

import type { ImageDecoder } from "./types.ts";
import { SharpDecoder, type SharpKernel } from "./sharp.ts";
import { NativeWithSharpFallback } from "./fallback.ts";
import {
  loadNativeLibrary,
  type NativeBufferPool,
  NativeDecoder,
  NativeLibraryUnavailableError,
} from "../native/mod.ts";

/** Backend choice: `auto` = native when `libmx8_ffi` loads, else sharp. */
export type DecodeBackend = "native" | "sharp" | "auto";

/** Options for {@linkcode createDecoder}. */
export interface CreateDecoderOptions {
  /** Default `"auto"`. */
  backend?: DecodeBackend;
  /** Native decode threads per batch (0 = one per core). Default 0. */
  threads?: number;
  /** Capacity of the native decoder's own pool. Default 256 MiB. */
  poolCapacityBytes?: number;
  /** A shared native pool (takes precedence over `poolCapacityBytes`). */
  pool?: NativeBufferPool;
  /** Images in flight for the sharp backend. Default 2. */
  sharpConcurrency?: number;
  /** sharp resize kernel (sharp backend and fallback). Default `"linear"`. */
  sharpKernel?: SharpKernel;
  /** Native fast IDCT. Default false. */
  fastDct?: boolean;
}

/**
 * Creates an image decoder.
 *
 * - `native`: the Rust/libjpeg-turbo decoder; non-JPEG samples and CMYK/YCCK
 *   JPEGs (which need an ICC colour transform) fail with a per-sample error.
 * - `sharp`: libvips through sharp.
 * - `auto` (default): native when the library loads — with non-JPEG samples
 *   and CMYK JPEGs delegated to sharp one by one — else sharp. The decoder's `name` says
 *   which one runs.
 *
 * @param options Backend, threads, pool.
 * @returns The decoder.
 * @throws {NativeLibraryUnavailableError} For `native` when the library cannot
 * be loaded (the message names `MX8_FFI_LIB` and `deno task build:ffi`).
 *
 * @example
 * ```ts
 * import { createDecoder } from "./select.ts";
 * import assert from "node:assert/strict";
 * const decoder = createDecoder({ backend: "sharp" });
 * assert.equal(decoder.name, "sharp");
 * decoder.close();
 * ```
 */
export function createDecoder(
  options: CreateDecoderOptions = {},
): ImageDecoder {
  const { backend = "auto" } = options;
  const sharp = () =>
    new SharpDecoder({
      concurrency: options.sharpConcurrency,
      kernel: options.sharpKernel,
    });
  if (backend === "sharp") return sharp();
  if (backend !== "native" && backend !== "auto") {
    throw new TypeError(
      `Invalid decode backend: "${backend}" (expected native, sharp or auto)`,
    );
  }
  const loaded = loadNativeLibrary();
  if (!loaded.ok) {
    if (backend === "native") {
      throw new NativeLibraryUnavailableError(loaded.reason);
    }
    return sharp();
  }
  const native = new NativeDecoder({
    library: loaded.library,
    threads: options.threads,
    poolCapacityBytes: options.poolCapacityBytes,
    pool: options.pool,
    fastDct: options.fastDct,
  });
  return backend === "native"
    ? native
    : new NativeWithSharpFallback(native, options.sharpKernel);
}
