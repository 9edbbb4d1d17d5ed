/**
 * A local shard written through `libmx8_ffi`: headers and padding gathered
 * in a small buffer, each input file appended by the kernel
 * (`copy_file_range`) right after the bytes gathered before it, so a file
 * costs one `write` plus one copy and its bytes never enter user space.
 *
 * @module
 */
import { join } from "node:path";
import { pathError } from "../errors.ts";
import { ChangedSizeError, NativeShardFile } from "../native/shard_file.ts";
import { asDenoError, NativeError } from "../native/errors.ts";
import type { NativeLibrary } from "../native/ffi.ts";
import type { ShardWriter } from "./dest.ts";
import { changedSizeError } from "./source.ts";

const encoder = new TextEncoder();

/** Bytes of headers and padding gathered before a `write` of their own. */
const GATHER_BYTES = 64 * 1024;

/** Turns a library error into the error `pathError` gives for `path`. */
function fsError(err: unknown, path: string, action: string): Error {
  return pathError(asDenoError(err), path, action);
}

/**
 * Opens shard `path` for writing through the native library.
 *
 * @param path Shard file path.
 * @param lib The opened native library.
 * @returns A writer with `appendEntrySync`.
 * @throws {PathError} When the file cannot be created.
 */
export function openNativeShard(path: string, lib: NativeLibrary): ShardWriter {
  let file: NativeShardFile;
  try {
    file = NativeShardFile.create(path, lib);
  } catch (err) {
    throw fsError(err, path, "create");
  }
  const gather = new Uint8Array(GATHER_BYTES);
  let fill = 0;
  const flush = () => {
    if (fill > 0) file.write(gather.subarray(0, fill));
    fill = 0;
  };
  // The source path as UTF-8: `dir` encoded once, `rel` per file.
  let pathBytes = new Uint8Array(4096);
  let dirOf = "";
  let dirLen = 0;
  const encodePath = (dir: string, rel: string): number => {
    const need = (dir.length + 1 + rel.length) * 3;
    if (pathBytes.length < need) {
      pathBytes = new Uint8Array(need);
      dirOf = "";
    }
    if (dir !== dirOf) {
      dirLen = encoder.encodeInto(dir, pathBytes).written;
      pathBytes[dirLen++] = 0x2f; // "/"
      dirOf = dir;
    }
    let at = dirLen;
    for (let i = 0; i < rel.length; i++) {
      const c = rel.charCodeAt(i);
      if (c >= 0x80) {
        return dirLen +
          encoder.encodeInto(rel, pathBytes.subarray(dirLen)).written;
      }
      pathBytes[at++] = c;
    }
    return at;
  };
  return {
    write(bytes) {
      try {
        if (fill + bytes.length > gather.length) flush();
        if (bytes.length > gather.length) file.write(bytes);
        else {
          gather.set(bytes, fill);
          fill += bytes.length;
        }
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(fsError(err, path, "write"));
      }
    },
    appendEntrySync(header, dir, rel, size, pad) {
      try {
        if (fill + header.length > gather.length) flush();
        gather.set(header, fill);
        fill += header.length;
      } catch (err) {
        throw fsError(err, path, "write");
      }
      try {
        const n = encodePath(dir, rel);
        file.appendFileBytes(gather, fill, pathBytes, n, size);
        fill = 0;
      } catch (err) {
        const src = join(dir, ...rel.split("/"));
        if (err instanceof ChangedSizeError) {
          throw changedSizeError(src, size, err.found);
        }
        const io = err instanceof NativeError && err.code === "Io";
        throw io
          ? fsError(err, path, `append ${src} to`)
          : fsError(err, src, "read");
      }
      gather.fill(0, 0, pad);
      fill = pad;
    },
    close() {
      try {
        flush();
        file.close();
        return Promise.resolve();
      } catch (err) {
        file.close();
        return Promise.reject(fsError(err, path, "write"));
      }
    },
    async abort() {
      file.close();
      await Deno.remove(path).catch(() => {});
    },
  };
}
