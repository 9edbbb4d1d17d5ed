/**
 * Pack output to a local directory: shards written under staging names
 * private to this pack (`shards/shard-NNNNN.tar.<token>.partial`, never
 * truncating a file another pack or a reader uses) and renamed into place
 * at the commit; written sequentially through a
 * 256 KiB buffer with blocking writes, metadata through a temporary file and
 * a rename.
 *
 * Why blocking 256 KiB writes: the kernel copies each write out of a buffer
 * that is still in the CPU cache, and no thread hand-off is paid per write.
 * Measured on 1.8 GB of 30–150 KB files this takes a quarter of the system
 * time of 4 MiB writes on Deno's I/O threads, and beats GNU tar's 10 KiB
 * records. A write blocks the event loop for well under a millisecond.
 *
 * With the native library (`localDestination(root, { native })`) shards are
 * written by `shard_native.ts` instead, and local input files are appended by
 * the kernel without being read into JavaScript at all.
 *
 * @module
 */
import { join } from "node:path";
import { pathError } from "../errors.ts";
import { PACKED_LABELS, PACKED_MANIFEST } from "../snapshot/list_local.ts";
import { Chunker } from "./chunker.ts";
import {
  type PackDestination,
  SHARD_FILE_RE,
  type ShardWriter,
  STAGED_SHARD_RE,
} from "./dest.ts";
import { shardName } from "./plan.ts";
import type { NativeLibrary } from "../native/ffi.ts";
import { openNativeShard } from "./shard_native.ts";
import { lockLocal } from "./lock_local.ts";

/** Bytes gathered before each `write` to a shard file. */
export const LOCAL_WRITE_BYTES = 256 * 1024;

/** Options of {@linkcode localDestination}. */
export interface LocalDestinationOptions {
  /** Write shards through the native library (then `appendsFiles` is true). */
  native?: NativeLibrary | null;
}

/**
 * Returns a destination writing under a local directory (created if needed).
 *
 * @param root Absolute directory path.
 * @param options Native library to write shards with.
 * @returns The destination.
 */
export function localDestination(
  root: string,
  options: LocalDestinationOptions = {},
): PackDestination {
  const native = options.native ?? null;
  const shardsDir = join(root, "shards");
  const metaDir = join(root, "_mx8");
  const manifestPath = join(root, ...PACKED_MANIFEST.split("/"));
  // One shard is open at a time: every shard fills the same write buffer.
  let buffer: Uint8Array | undefined;
  const writeBuffer = () => buffer ??= new Uint8Array(LOCAL_WRITE_BYTES);
  const token = crypto.randomUUID();
  const staged = (k: number) =>
    join(shardsDir, `${shardName(k)}.${token}.partial`);
  const stagedShards = new Set<number>();
  return {
    root,
    manifestPath,
    appendsFiles: native !== null,
    stagesShards: true,
    lock: () => lockLocal(root),
    async hasManifest() {
      try {
        await Deno.lstat(manifestPath);
        return true;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return false;
        throw pathError(err, manifestPath, "check");
      }
    },
    async removeMetadata() {
      for (const rel of [PACKED_MANIFEST, PACKED_LABELS]) {
        await removeIfExists(join(root, ...rel.split("/")));
      }
    },
    async openShard(k) {
      await mkdirp(shardsDir);
      const path = staged(k);
      stagedShards.add(k);
      return native
        ? openNativeShard(path, native)
        : await openLocalShard(path, writeBuffer);
    },
    async writeMetadata(name, bytes) {
      await mkdirp(metaDir);
      const path = join(metaDir, name);
      const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID()}`;
      try {
        if (bytes instanceof Uint8Array) await Deno.writeFile(tmp, bytes);
        else {
          // Chunk by chunk: a big manifest is never whole in memory.
          using file = await Deno.open(tmp, { write: true, createNew: true });
          for (const chunk of bytes) writeAllSync(file, chunk);
        }
        await Deno.rename(tmp, path);
      } catch (err) {
        await Deno.remove(tmp).catch(() => {});
        throw pathError(err, path, "write");
      }
    },
    async commitShards(count, guard) {
      for (let k = 0; k < count; k++) {
        const path = join(shardsDir, shardName(k));
        // A pack stalled here past the stale time must not move a shard
        // over the next holder's.
        await guard();
        try {
          await Deno.rename(staged(k), path);
        } catch (err) {
          throw pathError(err, path, "move staged shard into place as");
        }
        stagedShards.delete(k);
      }
      // Staging files of packs that died (or lost their lock) meanwhile.
      for (const name of await shardFiles(shardsDir)) {
        const m = STAGED_SHARD_RE.exec(name);
        if (m && m[2] !== token) await removeIfExists(join(shardsDir, name));
      }
    },
    async discardStaged() {
      for (const k of stagedShards) {
        await Deno.remove(staged(k)).catch(() => {});
      }
      stagedShards.clear();
    },
    async removeShardsFrom(k) {
      for (const name of await shardFiles(shardsDir)) {
        const m = SHARD_FILE_RE.exec(name);
        if (m && Number(m[1]) >= k) {
          await removeIfExists(join(shardsDir, name));
        }
      }
    },
  };
}

/** Names in `shards/` (none when it does not exist). */
async function shardFiles(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw pathError(err, dir, "read directory");
  }
}

async function openLocalShard(
  path: string,
  writeBuffer: () => Uint8Array,
): Promise<ShardWriter> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, {
      write: true,
      createNew: true, // a staging name of this pack only
    });
  } catch (err) {
    throw pathError(err, path, "create");
  }
  let open = true;
  const chunker = new Chunker(LOCAL_WRITE_BYTES, (chunk) => {
    try {
      writeAllSync(file, chunk);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(pathError(err, path, "write"));
    }
  }, writeBuffer);
  return {
    write: (bytes) => chunker.write(bytes),
    async close() {
      await chunker.end();
      open = false;
      file.close();
    },
    async abort() {
      if (open) {
        open = false;
        file.close();
      }
      await Deno.remove(path).catch(() => {});
    },
  };
}

async function mkdirp(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    throw pathError(err, dir, "create directory");
  }
}

async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw pathError(err, path, "remove");
  }
}

/** Blocking write of all of `bytes` (a write may take only part). */
function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
}
