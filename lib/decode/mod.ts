/**
 * Backend-independent batch image decoding into NCHW tensors.
 *
 * @example
 * ```ts ignore
 * import { createDecoder } from "./mod.ts";
 * const decoder = createDecoder({ backend: "auto", threads: 2 });
 * using batch = await decoder.decodeBatch(images, { height: 224, width: 224 });
 * console.log(decoder.name, batch.shape);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./sharp.ts";
export * from "./fallback.ts";
export * from "./select.ts";
