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
import { VideoLoader } from "../video/video_loader.ts";
import type { VideoOptions } from "../video/options.ts";

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

/**
 * Options of a video {@linkcode loader}: the clip options under `video`
 * (see `docs/video.md`); the loader-wide ones may also sit beside it.
 */
export interface VideoLoaderOptions extends
  Pick<
    VideoOptions,
    | "maxInflightBytes"
    | "prefetchBatches"
    | "resumeFrom"
    | "manifestStore"
    | "log"
    | "coordUrl"
    | "jobId"
    | "nodeId"
    | "want"
    | "authToken"
    | "connectTimeoutMs"
    | "barrierTimeoutMs"
  > {
  /** Clip options: `clip` frames per clip, `stride`, `frameStep` or `fps`, … */
  video: VideoOptions;
}

/** What {@linkcode loader} accepts. */
export type AnyLoaderOptions =
  | RawLoaderOptions
  | ImageLoaderOptions
  | VideoLoaderOptions;

/**
 * Opens a dataset link as batches under a hard memory cap.
 *
 * - raw bytes (`DataLoader`: `{ sampleIds, offsets, payload, labelIds }`) by default;
 * - decoded NCHW image tensors (`ImageFolderLoader`: `{ images, labels, sampleIds }`)
 *   when `resizeHw` or `decode: "image"` is given;
 * - decoded video clips (`VideoLoader`: `{ clips, clipIds, sampleIds, startSeconds }`)
 *   when `video` holds clip options (`docs/video.md`);
 * - leased from a coordinator when `coordUrl` and `jobId` are given (the link
 *   is then ignored: the coordinator pins the dataset; pass `""`).
 *
 * Nothing is read until the first batch. Both kinds share the options,
 * `stats()`, `checkpoint()` and `close()` / `await using`.
 *
 * @param link Dataset link: a folder, a `.tsv` manifest or `s3://…`, optionally `@refresh` / `@sha256:<hash>`.
 * @param options Loader options; see `docs/api.md`.
 * @returns A `VideoLoader` with `video`, an `ImageFolderLoader` when decoding images, else a `DataLoader`.
 * @throws {TypeError} When `decode` is not `"raw"` or `"image"`, image options come with `decode: "raw"`, or image/raw options come with `video`.
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
  options: VideoLoaderOptions,
): VideoLoader;
export function loader(
  link: string,
  options: ImageLoaderOptions,
): ImageFolderLoader;
export function loader(link: string, options?: RawLoaderOptions): DataLoader;
export function loader(
  link: string,
  options: AnyLoaderOptions = {},
): DataLoader | ImageFolderLoader | VideoLoader {
  if ("video" in options && options.video !== undefined) {
    const { video, ...shared } = options as VideoLoaderOptions;
    const extra = Object.keys(shared).filter((k) =>
      !VIDEO_SHARED_OPTIONS.includes(k as typeof VIDEO_SHARED_OPTIONS[number])
    );
    if (extra.length > 0) {
      throw new TypeError(
        `loader options ${extra.join(", ")} do not apply to video clips: ` +
          `put clip options inside video: { … } (see docs/video.md)`,
      );
    }
    return new VideoLoader(link, { ...shared, ...video });
  }
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

/** Loader options that may sit beside `video`. */
const VIDEO_SHARED_OPTIONS = [
  "maxInflightBytes",
  "prefetchBatches",
  "resumeFrom",
  "manifestStore",
  "log",
  "coordUrl",
  "jobId",
  "nodeId",
  "want",
  "authToken",
  "connectTimeoutMs",
  "barrierTimeoutMs",
] as const satisfies readonly (keyof VideoLoaderOptions)[];

/** Options that only mean something when images are decoded. */
const IMAGE_ONLY_OPTIONS = [
  "resizeHw",
  "toFloat",
  "decodeBackend",
  "decodeThreads",
  "onDecodeError",
  "maxPixels",
] as const satisfies readonly (keyof ImageFolderLoaderOptions)[];
