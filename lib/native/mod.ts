/**
 * Deno FFI bindings to `libmx8_ffi`: the bounded native buffer pool and the
 * batched JPEG decoder.
 *
 * @example
 * ```ts ignore
 * import { NativeDecoder } from "./mod.ts";
 * using decoder = new NativeDecoder({ threads: 2 });
 * using batch = await decoder.decodeBatch(jpegs, { height: 224, width: 224 });
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./ffi.ts";
export * from "./library.ts";
export * from "./pool.ts";
export * from "./decoder.ts";
