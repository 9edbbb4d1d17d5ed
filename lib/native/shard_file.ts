/**
 * A shard file written by `libmx8_ffi`: small writes from JavaScript, whole
 * source files appended by the kernel (`copy_file_range`), so `mx8 pack`
 * never copies file bytes through user space.
 *
 * @module
 */
import { NativeError, readMessage, Status } from "./errors.ts";
import type { NativeLibrary } from "./ffi.ts";
import { requireNativeLibrary } from "./library.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** A failed append: the source file is not the size it was listed with. */
export class ChangedSizeError extends NativeError {
  /** The size found (bytes in the file, or copied before it ended). */
  readonly found: number;

  /**
   * Creates the error.
   *
   * @param found The size found.
   * @param message Detail text from the library.
   */
  constructor(found: number, message: string) {
    super(Status.ChangedSize, message);
    this.name = "ChangedSizeError";
    this.found = found;
  }
}

/**
 * An open shard file. Owns a native handle: call `close()` (or `using`).
 * Calls are synchronous (each is one or a few syscalls on the calling
 * thread).
 *
 * @example Write a header, then append a file after it
 * ```ts
 * import assert from "node:assert/strict";
 * import { openNativeLibrary } from "./library.ts";
 * import { NativeShardFile } from "./shard_file.ts";
 *
 * if (openNativeLibrary()) {
 *   const dir = Deno.makeTempDirSync();
 *   Deno.writeTextFileSync(`${dir}/a.txt`, "hello");
 *   {
 *     using out = NativeShardFile.create(`${dir}/out.bin`);
 *     out.appendFile(new TextEncoder().encode(">"), `${dir}/a.txt`, 5);
 *     out.write(new TextEncoder().encode("<"));
 *   }
 *   assert.equal(Deno.readTextFileSync(`${dir}/out.bin`), ">hello<");
 *   Deno.removeSync(dir, { recursive: true });
 * }
 * ```
 */
export class NativeShardFile implements Disposable {
  #lib: NativeLibrary;
  #handle: Deno.PointerValue;
  #err = new Uint8Array(512);
  #errCap = 512n;
  #path = new Uint8Array(4096);
  #found = new BigUint64Array(1);

  private constructor(lib: NativeLibrary, handle: Deno.PointerValue) {
    this.#lib = lib;
    this.#handle = handle;
  }

  /**
   * Creates (or truncates) `path`, mode 0644.
   *
   * @param path File path.
   * @param lib The library (default: the one found by `requireNativeLibrary`).
   * @returns The open file.
   * @throws {NativeError} With code `NotFound`, `PermissionDenied` or `Io`.
   */
  static create(
    path: string,
    lib: NativeLibrary = requireNativeLibrary(),
  ): NativeShardFile {
    const out = new BigUint64Array(1);
    const err = new Uint8Array(512);
    const p = encoder.encode(path);
    const status = lib.symbols.mx8_file_create(
      p,
      BigInt(p.length),
      out,
      err,
      BigInt(err.length),
    );
    if (status !== Status.Ok) throw new NativeError(status, readMessage(err));
    return new NativeShardFile(lib, Deno.UnsafePointer.create(out[0]));
  }

  /** True until `close()`. */
  get open(): boolean {
    return this.#handle !== null;
  }

  /**
   * Appends bytes.
   *
   * @param bytes The bytes.
   * @throws {NativeError} On a write error or when closed.
   */
  write(bytes: Uint8Array): void {
    const status = this.#lib.symbols.mx8_file_write(
      this.#live(),
      bytes,
      BigInt(bytes.length),
      this.#err,
      this.#errCap,
    );
    if (status !== Status.Ok) this.#fail(status);
  }

  /**
   * Appends `prefix`, then the whole file at `path`, which must be `size`
   * bytes long. After a failure the shard file's content is undefined.
   *
   * @param prefix Bytes written first (may be empty).
   * @param path Source file.
   * @param size Its expected size in bytes.
   * @throws {ChangedSizeError} When the file is not `size` bytes.
   * @throws {NativeError} With code `NotFound`, `PermissionDenied` or `Io`.
   */
  appendFile(prefix: Uint8Array, path: string, size: number): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (this.#path.length < path.length * 3) {
      this.#path = new Uint8Array(path.length * 3);
    }
    const n = encoder.encodeInto(path, this.#path).written;
    this.appendFileBytes(prefix, prefix.length, this.#path, n, size);
  }

  /**
   * {@linkcode appendFile} with the prefix and the UTF-8 path given as the
   * first bytes of buffers: no allocation per call (the pack loop calls this
   * once per input file).
   *
   * @param prefix Buffer whose first `prefixLen` bytes are written first.
   * @param prefixLen Prefix length.
   * @param path Buffer whose first `pathLen` bytes are the UTF-8 path.
   * @param pathLen Path length.
   * @param size The file's expected size in bytes.
   * @throws {ChangedSizeError} When the file is not `size` bytes.
   * @throws {NativeError} With code `NotFound`, `PermissionDenied` or `Io`.
   */
  appendFileBytes(
    prefix: Uint8Array,
    prefixLen: number,
    path: Uint8Array,
    pathLen: number,
    size: number,
  ): void {
    const status = this.#lib.symbols.mx8_file_append_from(
      this.#live(),
      prefixLen > 0 ? prefix : EMPTY,
      prefixLen,
      path,
      pathLen,
      size,
      this.#found,
      this.#err,
      this.#errCap,
    );
    if (status === Status.ChangedSize) {
      throw new ChangedSizeError(
        Number(this.#found[0]),
        readMessage(this.#err),
      );
    }
    if (status !== Status.Ok) this.#fail(status);
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#handle === null) return;
    this.#lib.symbols.mx8_file_close(this.#handle);
    this.#handle = null;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #live(): Deno.PointerObject {
    if (this.#handle === null) {
      throw new NativeError(Status.InvalidArgument, "shard file is closed");
    }
    return this.#handle;
  }

  #fail(status: number): never {
    throw new NativeError(status, readMessage(this.#err));
  }
}
