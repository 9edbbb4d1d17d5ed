/**
 * Reads sample bytes for a batch into one payload buffer: local files by
 * positional reads (one open handle per shard), S3 objects by ranged GETs
 * with neighbouring ranges coalesced, bounded concurrency, and retries with
 * backoff + jitter on transient failures.
 *
 * @module
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { Mx8Error, pathError, S3Error } from "../errors.ts";
import { createS3Client } from "../s3/client.ts";
import { s3Error } from "../s3/errors.ts";
import { mapLimit } from "../util/map_limit.ts";
import { coalesceRanges, type RangeRequest } from "./coalesce.ts";
import {
  describeLocation,
  type ResolvedLocation,
  resolveLocation,
} from "./location.ts";
import { isTransientS3Error, withRetry } from "./retry.ts";

/** What the reader needs of a manifest row. */
export interface SampleRef {
  /** Manifest sample id (for messages). */
  sampleId: number;
  /** Row location. */
  location: string;
  /** Byte offset, when the row has a range. */
  byteOffset?: number;
  /** Byte length, when the row has a range. */
  byteLength?: number;
}

/** Options of {@linkcode SampleReader}. */
export interface SampleReaderOptions {
  /** Max reads in flight per batch (default 16). */
  concurrency?: number;
  /** Attempts per S3 request (default 3). */
  attempts?: number;
  /** S3 client (default: one with SDK retries off; this reader retries itself). */
  s3Client?: S3Client;
  /** Max open shard handles kept (default 64). */
  maxOpenFiles?: number;
  /** Called on each retried S3 request. */
  onRetry?: (what: string, err: unknown) => void;
  /**
   * Called after a local shard (a file read by byte ranges) is opened,
   * before it is read: throws when
   * the file may no longer hold the resolved snapshot's bytes (the loader
   * checks the base's manifest file is still the one it resolved).
   */
  checkOpen?: (path: string) => Promise<void>;
}

/**
 * A local file was replaced since this reader first opened it (e.g. by
 * `mx8 pack --overwrite`): its bytes are not the resolved snapshot's.
 */
export class ReplacedFileError extends Mx8Error {
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param sampleId The sample being read.
   */
  constructor(path: string, sampleId: number) {
    super(
      `${path} was replaced since it was first read (is the dataset being repacked with ` +
        `mx8 pack --overwrite?): sample ${sampleId} would be read from other bytes. ` +
        `Open the dataset again to read what it holds now, or pack to a new --out to keep old runs readable`,
    );
    this.name = "ReplacedFileError";
  }
}

/** A range read from a local file came back short. */
export class TruncatedReadError extends Mx8Error {
  /**
   * Creates the error.
   *
   * @param where The location and range.
   * @param got Bytes read.
   * @param want Bytes expected.
   */
  constructor(where: string, got: number, want: number) {
    super(
      `Short read from ${where}: got ${got} of ${want} bytes (is the shard truncated? repack the dataset)`,
    );
    this.name = "TruncatedReadError";
  }
}

/** Reads sample bytes relative to one dataset root. */
export class SampleReader {
  /** Dataset root. */
  readonly root: string;
  #concurrency: number;
  #attempts: number;
  #s3?: S3Client;
  #s3Given?: S3Client;
  #handles = new Map<string, Promise<FileHandle>>();
  #maxOpen: number;
  #onRetry?: (what: string, err: unknown) => void;
  #checkOpen?: (path: string) => Promise<void>;
  /** Identity of each shard when first read (`dev:ino`, S3 ETag): later reads must match. */
  #identities = new Map<string, string>();
  /** S3 requests retried so far. */
  retries = 0;

  /**
   * Creates a reader.
   *
   * @param root Dataset root for relative locations.
   * @param options Concurrency, retries, client.
   */
  constructor(root: string, options: SampleReaderOptions = {}) {
    this.root = root;
    this.#concurrency = options.concurrency ?? 16;
    this.#attempts = options.attempts ?? 3;
    this.#s3Given = options.s3Client;
    this.#maxOpen = options.maxOpenFiles ?? 64;
    this.#onRetry = options.onRetry;
    this.#checkOpen = options.checkOpen;
  }

  get #client(): S3Client {
    return this.#s3 ??= this.#s3Given ?? createS3Client({ maxAttempts: 1 });
  }

  /**
   * Returns each sample's byte size: its byte_length, else the file/object size.
   *
   * @param refs Samples.
   * @param signal Abort signal.
   * @returns Sizes in bytes, in input order.
   */
  sizes(refs: readonly SampleRef[], signal?: AbortSignal): Promise<number[]> {
    return mapLimit(refs, this.#concurrency, async (ref) => {
      if (ref.byteLength !== undefined) return ref.byteLength;
      const loc = resolveLocation(ref.location, this.root);
      if (loc.kind === "local") {
        try {
          return (await Deno.stat(loc.path)).size;
        } catch (err) {
          throw pathError(err, loc.path, `read sample ${ref.sampleId} from`);
        }
      }
      const head = await this.#retrying(
        `HeadObject ${describeLocation(loc)}`,
        signal,
        () =>
          this.#client.send(
            new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }),
            {
              abortSignal: signal,
            },
          ),
      ).catch((err) => {
        throw s3Error(err, "HeadObject", loc.bucket, loc.key);
      });
      return head.ContentLength ?? 0;
    });
  }

  /**
   * Reads every sample into `payload` at `offsets[i]` (`sizes[i]` bytes each).
   *
   * @param refs Samples.
   * @param sizes Their sizes (from {@linkcode sizes}).
   * @param payload Destination buffer.
   * @param offsets Start of each sample in `payload` (length ≥ refs.length).
   * @param signal Abort signal.
   */
  async readInto(
    refs: readonly SampleRef[],
    sizes: readonly number[],
    payload: Uint8Array,
    offsets: ArrayLike<number>,
    signal?: AbortSignal,
  ): Promise<void> {
    // Group by object so neighbouring ranges coalesce into one read.
    const groups = new Map<
      string,
      { loc: ResolvedLocation; ranges: RangeRequest[] }
    >();
    refs.forEach((ref, i) => {
      const loc = resolveLocation(ref.location, this.root);
      const id = describeLocation(loc);
      let g = groups.get(id);
      if (!g) groups.set(id, g = { loc, ranges: [] });
      g.ranges.push({
        index: i,
        offset: ref.byteOffset ?? 0,
        length: sizes[i],
      });
    });
    const jobs: {
      loc: ResolvedLocation;
      read: ReturnType<typeof coalesceRanges>[number];
    }[] = [];
    for (const { loc, ranges } of groups.values()) {
      if (loc.kind === "s3") {
        for (const read of coalesceRanges(ranges)) jobs.push({ loc, read });
      } else {
        for (const r of ranges) {
          jobs.push({
            loc,
            read: { offset: r.offset, length: r.length, parts: [r] },
          });
        }
      }
    }
    await mapLimit(jobs, this.#concurrency, async ({ loc, read }) => {
      if (signal?.aborted) throw signal.reason;
      if (loc.kind === "local") {
        const part = read.parts[0];
        const ranged = refs[part.index].byteLength !== undefined;
        const dst = payload.subarray(
          offsets[part.index],
          offsets[part.index] + part.length,
        );
        await this.#readLocal(
          loc.path,
          part.offset,
          dst,
          ranged,
          refs[part.index].sampleId,
        );
        return;
      }
      const first = refs[read.parts[0].index];
      const bytes = await this.#getRange(
        loc,
        read.offset,
        read.length,
        signal,
        // Shards (ranged rows) are pinned to the object first read.
        first.byteLength !== undefined ? first.sampleId : undefined,
      );
      for (const p of read.parts) {
        const start = p.offset - read.offset;
        payload.set(bytes.subarray(start, start + p.length), offsets[p.index]);
      }
    });
  }

  async #readLocal(
    path: string,
    position: number,
    dst: Uint8Array,
    keepOpen: boolean,
    sampleId: number,
  ): Promise<void> {
    let fh: FileHandle;
    try {
      // Shards (ranged rows) are checked; whole files just opened.
      fh = await (keepOpen ? this.#handle(path) : open(path, "r"));
    } catch (err) {
      if (err instanceof ReplacedFileError) {
        throw new ReplacedFileError(path, sampleId);
      }
      if (err instanceof Mx8Error) throw err;
      throw pathError(err, path, `read sample ${sampleId} from`);
    }
    try {
      let done = 0;
      while (done < dst.length) {
        const { bytesRead } = await fh.read(
          dst,
          done,
          dst.length - done,
          position + done,
        );
        if (bytesRead === 0) {
          throw new TruncatedReadError(
            `${path} bytes=${position}-${
              position + dst.length - 1
            } (sample ${sampleId})`,
            done,
            dst.length,
          );
        }
        done += bytesRead;
      }
    } catch (err) {
      throw err instanceof Mx8Error
        ? err
        : pathError(err, path, `read sample ${sampleId} from`);
    } finally {
      if (!keepOpen) await fh.close();
    }
  }

  /**
   * Opens a local shard and checks it is the file this reader read before
   * (same `dev:ino`) and, through `checkOpen`, that the dataset was not
   * repacked since it was resolved: a handle already open keeps reading the
   * file it opened, and a file reopened or first opened after a repack is an
   * error, never other bytes.
   */
  async #open(path: string): Promise<FileHandle> {
    const fh = await open(path, "r");
    try {
      const st = await fh.stat();
      await this.#pin(path, `${st.dev}:${st.ino}`, -1);
      return fh;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Pins shard `name` to the identity it had when first read (local
   * `dev:ino`, S3 ETag): another identity later is a
   * {@linkcode ReplacedFileError}. The first time, `checkOpen` runs (after
   * the bytes were read or the file opened).
   */
  async #pin(name: string, identity: string, sampleId: number): Promise<void> {
    const first = this.#identities.get(name);
    if (first === undefined) {
      this.#identities.set(name, identity);
      await this.#checkOpen?.(name);
    } else if (first !== identity) {
      throw new ReplacedFileError(name, sampleId);
    }
  }

  #handle(path: string): Promise<FileHandle> {
    let h = this.#handles.get(path);
    if (h) {
      // Refresh LRU position.
      this.#handles.delete(path);
      this.#handles.set(path, h);
      return h;
    }
    if (this.#handles.size >= this.#maxOpen) {
      const [oldest, p] = this.#handles.entries().next().value!;
      this.#handles.delete(oldest);
      // Let in-flight reads on it finish before closing.
      setTimeout(() => p.then((fh) => fh.close()).catch(() => {}), 1000);
    }
    h = this.#open(path);
    h.catch(() => this.#handles.delete(path));
    this.#handles.set(path, h);
    return h;
  }

  async #getRange(
    loc: { bucket: string; key: string },
    offset: number,
    length: number,
    signal?: AbortSignal,
    pinnedSample?: number,
  ): Promise<Uint8Array> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    const what = `GetObject s3://${loc.bucket}/${loc.key} ${range}`;
    try {
      return await this.#retrying(what, signal, async () => {
        const res = await this.#client.send(
          new GetObjectCommand({
            Bucket: loc.bucket,
            Key: loc.key,
            Range: range,
          }),
          { abortSignal: signal },
        );
        const bytes = await res.Body!.transformToByteArray();
        if (pinnedSample !== undefined) {
          await this.#pin(
            `s3://${loc.bucket}/${loc.key}`,
            `etag ${res.ETag}`,
            pinnedSample,
          );
        }
        if (bytes.length !== length) {
          throw Object.assign(
            new Error(`short body: got ${bytes.length} of ${length} bytes`),
            {
              name: "TimeoutError",
            },
          );
        }
        return bytes;
      });
    } catch (err) {
      if (err instanceof Mx8Error && !(err instanceof S3Error)) throw err;
      const e = s3Error(err, "GetObject", loc.bucket, loc.key);
      if (e instanceof S3Error) {
        throw new S3Error({
          operation: "GetObject",
          bucket: loc.bucket,
          key: loc.key,
          code: e.code,
          status: e.status,
          detail:
            `range ${range} (gave up after at most ${this.#attempts} attempts)`,
        }, { cause: err });
      }
      throw e;
    }
  }

  #retrying<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    return withRetry(fn, {
      attempts: this.#attempts,
      signal,
      isRetryable: isTransientS3Error,
      onRetry: (err) => {
        this.retries++;
        this.#onRetry?.(what, err);
      },
    });
  }

  /** Closes cached file handles. */
  async close(): Promise<void> {
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(
      handles.map((h) => h.then((fh) => fh.close()).catch(() => {})),
    );
  }
}
