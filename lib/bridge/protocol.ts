/**
 * The Python bridge's control channel (`mx8 bridge`): one JSON object per
 * line each way. The consumer writes requests to the runtime's stdin, the
 * runtime answers each one on stdout, in order. See `docs/python.md`.
 *
 * @module
 */
import type { RawBatch } from "../loader/data_loader.ts";
import type { ImageBatch } from "../loader/image_folder.ts";
import type { Placement } from "./shared_batches.ts";

/** The first request: what to load and where the mapping goes. */
export interface OpenRequest {
  /** Always `"open"`. */
  op: "open";
  /** Dataset link (`""` in distributed mode, or for a mix). */
  link: string;
  /** `loader(link, options)` options, camelCase, as JSON. */
  options: Record<string, unknown>;
  /** File to create for the mapping (must not exist). */
  shmPath: string;
  /** Instead of one loader: `mix()` of these sources (then `link`/`options` are ignored). */
  mix?: MixRequest;
}

/** A mix to serve: its sources and `mix()` options. */
export interface MixRequest {
  /** The sources, in order. */
  sources: { name: string; link: string; options: Record<string, unknown> }[];
  /** `true`: the sources are named (a record); `false`: an array ("0", "1", …). */
  named: boolean;
  /** `mix()` options, camelCase, as JSON. */
  options: Record<string, unknown>;
}

/** Every later request. */
export interface Request {
  /**
   * `next`: release the held batch, send the next one (or `end`);
   * `release`: release the held batch; `info`: open the dataset, send
   * classes and manifest hash; `stats`; `checkpoint`; `close`.
   */
  op: "next" | "release" | "info" | "stats" | "checkpoint" | "close";
}

/** The request operations after `open`. */
export const OPS: readonly Request["op"][] = [
  "next",
  "release",
  "info",
  "stats",
  "checkpoint",
  "close",
];

/**
 * Parses the first line.
 *
 * @param line JSON text.
 * @returns The open request.
 * @throws {TypeError} When it is not a well-formed open request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOpen } from "./protocol.ts";
 * const r = parseOpen('{"op":"open","link":"/d","options":{},"shmPath":"/dev/shm/x"}');
 * assert.equal(r.link, "/d");
 * ```
 */
export function parseOpen(line: string): OpenRequest {
  const r = parseJson(line);
  if (
    r.op !== "open" || typeof r.link !== "string" ||
    typeof r.shmPath !== "string" || r.shmPath === "" ||
    typeof r.options !== "object" || r.options === null ||
    Array.isArray(r.options) || (r.mix !== undefined && !isMix(r.mix))
  ) {
    throw new TypeError(
      `mx8 bridge: the first line must be {"op":"open","link":…,"options":{…},"shmPath":…[,"mix":{"sources":[{"name","link","options"}…],"named","options"}]}, got ${
        line.slice(0, 200)
      }`,
    );
  }
  return r as unknown as OpenRequest;
}

/**
 * Parses a request line after `open`.
 *
 * @param line JSON text.
 * @returns The request.
 * @throws {TypeError} On an unknown operation.
 */
export function parseRequest(line: string): Request {
  const r = parseJson(line);
  if (!OPS.includes(r.op as Request["op"])) {
    throw new TypeError(
      `mx8 bridge: unknown request ${line.slice(0, 200)} (expected op ${
        OPS.join("|")
      })`,
    );
  }
  return r as unknown as Request;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isMix(v: unknown): boolean {
  return isObject(v) && Array.isArray(v.sources) && v.sources.length > 0 &&
    typeof v.named === "boolean" && isObject(v.options) &&
    v.sources.every((s) =>
      isObject(s) && typeof s.name === "string" &&
      typeof s.link === "string" && isObject(s.options)
    );
}

function parseJson(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new TypeError(`mx8 bridge: not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`mx8 bridge: not a JSON object: ${line.slice(0, 200)}`);
  }
  return v as Record<string, unknown>;
}

/**
 * Turns JSON options into loader options: a `seed` given as a decimal
 * string becomes a bigint (JSON numbers lose precision past 2^53).
 *
 * @param options Options as JSON.
 * @returns Loader options.
 * @throws {RangeError} When `seed` is a string but not an integer.
 */
export function loaderOptionsOf(
  options: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...options };
  if (typeof out.seed === "string") {
    if (!/^-?\d+$/.test(out.seed)) {
      throw new RangeError(`seed must be an integer, got "${out.seed}"`);
    }
    out.seed = BigInt(out.seed);
  }
  return out;
}

/** Where a batch's bytes are: `offset` into the mapping, or inline bytes after the line. */
function where(p: Placement, nbytes: number) {
  return p.offset === null
    ? { offset: null, inline: nbytes }
    : { offset: p.offset, inline: 0 };
}

/** `source_ids` of a mixed batch (absent for a plain loader's). */
function sources(b: object): { source_ids?: number[] } {
  const ids = (b as { sourceIds?: BigInt64Array }).sourceIds;
  return ids ? { source_ids: Array.from(ids, Number) } : {};
}

/**
 * The descriptor of a decoded image batch.
 *
 * @param b The batch.
 * @param p Where its tensor is.
 * @returns The JSON object (one line on the wire).
 */
export function imageDescriptor(
  b: ImageBatch,
  p: Placement,
): Record<string, unknown> {
  return {
    t: "batch",
    kind: "image",
    ...where(p, b.images.data.byteLength),
    nbytes: b.images.data.byteLength,
    shape: b.images.shape,
    dtype: b.images.dtype,
    sample_ids: Array.from(b.sampleIds, Number),
    labels: Array.from(b.labels, Number),
    ...sources(b),
  };
}

/**
 * The descriptor of a raw batch.
 *
 * @param b The batch.
 * @param p Where its payload is.
 * @returns The JSON object (one line on the wire).
 */
export function rawDescriptor(
  b: RawBatch,
  p: Placement,
): Record<string, unknown> {
  return {
    t: "batch",
    kind: "raw",
    ...where(p, b.payload.byteLength),
    nbytes: b.payload.byteLength,
    offsets: Array.from(b.offsets, Number),
    sample_ids: Array.from(b.sampleIds, Number),
    label_ids: Array.from(b.labelIds, Number),
    ...sources(b),
  };
}

/**
 * The error reply: `ValueError` for bad options (a `TypeError` or
 * `RangeError` raised while building the loader), else the error's class name.
 *
 * @param err What was thrown.
 * @param options Whether it came from validating the options.
 * @returns The JSON object.
 */
export function errorReply(
  err: unknown,
  options: boolean,
): Record<string, unknown> {
  const e = err instanceof Error ? err : new Error(String(err));
  const bad = options && (e instanceof TypeError || e instanceof RangeError);
  return {
    t: "error",
    error: bad ? "ValueError" : e.name,
    message: e.message,
  };
}
