/**
 * `loader(link, options)`: the one entry point a script starts from. Raw
 * byte batches by default, decoded image tensors with `resizeHw` (or
 * `decode: "image"`), leased from a coordinator with `coordUrl`.
 *
 * @module
 */
import { DataLoader } from "./data_loader.ts";
import {
  ImageFolderLoader,
  type ImageFolderLoaderOptions,
} from "./image_folder.ts";
import type { LoaderOptions } from "./options.ts";

/** Options of a raw-bytes {@linkcode loader}: the loader options, `decode` absent or `"raw"`. */
export interface RawLoaderOptions extends LoaderOptions {
  /** `"raw"` (default): batches of sample bytes. */
  decode?: "raw";
}

/**
 * Options of a decoding {@linkcode loader}: the image options, with
 * `decode: "image"` or a `resizeHw`.
 */
export type ImageLoaderOptions =
  & ImageFolderLoaderOptions
  & (
    | { decode: "image" }
    | { decode?: "image"; resizeHw: [number, number] }
  );

/** What {@linkcode loader} accepts. */
export type AnyLoaderOptions = RawLoaderOptions | ImageLoaderOptions;

/**
 * Opens a dataset link as batches under a hard memory cap.
 *
 * - raw bytes (`DataLoader`: `{ sampleIds, offsets, payload, labelIds }`) by default;
 * - decoded NCHW image tensors (`ImageFolderLoader`: `{ images, labels, sampleIds }`)
 *   when `resizeHw` or `decode: "image"` is given;
 * - leased from a coordinator when `coordUrl` and `jobId` are given (the link
 *   is then ignored: the coordinator pins the dataset; pass `""`).
 *
 * Nothing is read until the first batch. Both kinds share the options,
 * `stats()`, `checkpoint()` and `close()` / `await using`.
 *
 * @param link Dataset link: a folder, a `.tsv` manifest or `s3://…`, optionally `@refresh` / `@sha256:<hash>`.
 * @param options Loader options; see `docs/api.md`.
 * @returns An `ImageFolderLoader` when decoding, else a `DataLoader`.
 * @throws {TypeError} When `decode` is not `"raw"` or `"image"`, or image options come with `decode: "raw"`.
 * @throws {RangeError} When a numeric option is out of range.
 *
 * @example Raw batches of a folder of files
 * ```ts
 * import { loader, openManifestStore } from "jsr:@mx8/runtime";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/data`);
 * for (const name of ["a.txt", "b.txt", "c.txt"]) {
 *   await Deno.writeTextFile(`${dir}/data/${name}`, name);
 * }
 * const seen: string[] = [];
 * {
 *   await using raw = loader(`${dir}/data`, {
 *     batchSizeSamples: 2,
 *     manifestStore: openManifestStore(`${dir}/store`),
 *     log: () => {},
 *   });
 *   for await (const batch of raw) {
 *     for (let i = 0; i < batch.sampleIds.length; i++) {
 *       seen.push(new TextDecoder().decode(batch.sample(i)));
 *     }
 *   }
 *   assert.deepEqual(raw.stats().deliveredSamplesTotal, 3);
 * }
 * assert.deepEqual(seen, ["a.txt", "b.txt", "c.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function loader(
  link: string,
  options: ImageLoaderOptions,
): ImageFolderLoader;
export function loader(link: string, options?: RawLoaderOptions): DataLoader;
export function loader(
  link: string,
  options: AnyLoaderOptions = {},
): DataLoader | ImageFolderLoader {
  const { decode, ...rest } = options as AnyLoaderOptions & {
    decode?: unknown;
  };
  const image = decode === "image" ||
    (decode === undefined && "resizeHw" in rest &&
      rest.resizeHw !== undefined);
  if (decode !== undefined && decode !== "raw" && decode !== "image") {
    throw new TypeError(
      `loader option decode must be "raw" or "image", got ${
        JSON.stringify(decode)
      }`,
    );
  }
  if (!image) {
    const imageOnly = IMAGE_ONLY_OPTIONS.filter((k) =>
      (rest as Record<string, unknown>)[k] !== undefined
    );
    if (imageOnly.length > 0) {
      throw new TypeError(
        `loader options ${imageOnly.join(", ")} need decoded images: ` +
          `pass decode: "image" (or resizeHw), or drop them for raw bytes`,
      );
    }
    return new DataLoader(link, rest);
  }
  return new ImageFolderLoader(link, rest);
}

/** Options that only mean something when images are decoded. */
const IMAGE_ONLY_OPTIONS = [
  "resizeHw",
  "toFloat",
  "decodeBackend",
  "decodeThreads",
  "onDecodeError",
  "maxPixels",
] as const satisfies readonly (keyof ImageFolderLoaderOptions)[];
