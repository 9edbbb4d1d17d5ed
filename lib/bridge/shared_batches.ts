/**
 * The shared mapping batches are handed over in (the Python binding): a file
 * of `maxInflightBytes` bytes, normally under `/dev/shm`, that the consumer
 * process maps too.
 *
 * With `libmx8_ffi` the file is the native buffer pool itself
 * (`NativeBufferPool` with `mappedFile`): the JPEG decoder writes tensors
 * straight into it and a batch is described by its offset, zero copies.
 * Bytes that live elsewhere (raw payloads, a slab the fragmented region had
 * to put on the heap) are copied into a pool slab in the mapping. Without
 * the library the file is written with positional writes at offset 0: the
 * consumer holds at most one batch, released before the next is placed.
 * When nothing fits, the bytes go inline over the control channel.
 *
 * @module
 */
import {
  loadNativeLibrary,
  NativeBufferPool,
  type Slab,
} from "../native/mod.ts";

/** Where a batch's bytes are for the consumer. */
export interface Placement {
  /** Offset in the mapping, or `null` when the bytes travel inline. */
  offset: number | null;
  /** The bytes to send inline (when `offset` is `null`). */
  inline?: Uint8Array;
  /** Whether the bytes were copied to get there. */
  copied: boolean;
  /** Frees what the placement holds (a copy slab). Idempotent. */
  release(): void;
}

/** How batches reach the mapping. */
export type SharedMode = "mapped" | "file";

/** Counters of {@linkcode SharedBatches}. */
export interface SharedStats {
  /** `mapped` (native pool in the file) or `file` (positional writes). */
  mode: SharedMode;
  /** Mapping size in bytes. */
  bytes: number;
  /** Batches placed without a copy. */
  zeroCopyBatches: number;
  /** Batches copied into the mapping. */
  copiedBatches: number;
  /** Batches sent inline over the control channel. */
  inlineBatches: number;
}

/** The mapping, and how batches get into it. */
export class SharedBatches {
  /** The file's path. */
  readonly path: string;
  /** Its size: the loader's `maxInflightBytes`. */
  readonly bytes: number;
  #pool?: NativeBufferPool;
  #file?: Deno.FsFile;
  #stats: Omit<SharedStats, "mode" | "bytes"> = {
    zeroCopyBatches: 0,
    copiedBatches: 0,
    inlineBatches: 0,
  };

  /**
   * Creates the file (it must not exist) and maps it through the native
   * pool when `libmx8_ffi` loads.
   *
   * @param path File to create, e.g. `/dev/shm/mx8-…`.
   * @param bytes Its size.
   * @param useNative `false` forces positional writes.
   * @throws {Deno.errors.AlreadyExists} If the file exists.
   */
  constructor(path: string, bytes: number, useNative = true) {
    this.path = path;
    this.bytes = bytes;
    const file = Deno.openSync(path, {
      createNew: true,
      read: true,
      write: true,
      mode: 0o600,
    });
    try {
      file.truncateSync(bytes);
      const lib = useNative ? loadNativeLibrary() : { ok: false as const };
      if (lib.ok) {
        this.#pool = new NativeBufferPool(bytes, {
          library: lib.library,
          mappedFile: path,
        });
        file.close();
      } else {
        this.#file = file;
      }
    } catch (err) {
      file.close();
      this.unlink();
      throw err;
    }
  }

  /** The native pool over the mapping (decoders write into it), if any. */
  get pool(): NativeBufferPool | undefined {
    return this.#pool;
  }

  /** Counters. */
  stats(): SharedStats {
    return {
      mode: this.#pool ? "mapped" : "file",
      bytes: this.bytes,
      ...this.#stats,
    };
  }

  /**
   * Makes `view`'s bytes readable by the consumer. The previous placement
   * must have been released (the consumer holds one batch at a time).
   *
   * @param view The batch's bytes (a tensor or a payload).
   * @returns Where they are.
   */
  place(view: ArrayBufferView): Placement {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const none = () => {};
    if (this.#pool) {
      const at = this.#pool.sharedOffset(bytes);
      if (at !== null) {
        this.#stats.zeroCopyBatches++;
        return { offset: at, copied: false, release: none };
      }
      const slab = bytes.byteLength > 0
        ? this.#pool.tryAcquire(bytes.byteLength)
        : null;
      const target = slab ? slab.uint8(bytes.byteLength) : undefined;
      const off = target ? this.#pool.sharedOffset(target) : null;
      if (slab && target && off !== null) {
        target.set(bytes);
        this.#stats.copiedBatches++;
        return { offset: off, copied: true, release: once(slab) };
      }
      slab?.release();
    } else if (this.#file && bytes.byteLength <= this.bytes) {
      this.#file.seekSync(0, Deno.SeekMode.Start);
      for (let at = 0; at < bytes.byteLength;) {
        at += this.#file.writeSync(bytes.subarray(at));
      }
      this.#stats.copiedBatches++;
      return { offset: 0, copied: true, release: none };
    }
    this.#stats.inlineBatches++;
    return { offset: null, inline: bytes, copied: true, release: none };
  }

  /** Removes the file name (mappings stay valid). Idempotent. */
  unlink(): void {
    try {
      Deno.removeSync(this.path);
    } catch {
      // already gone (the consumer unlinks it once mapped)
    }
  }

  /** Unlinks, closes the file and the pool (live slabs stay valid). */
  close(): void {
    this.unlink();
    this.#file?.close();
    this.#file = undefined;
    this.#pool?.close();
  }
}

function once(slab: Slab): () => void {
  return () => slab.release();
}
