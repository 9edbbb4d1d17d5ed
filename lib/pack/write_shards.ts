/**
 * The pack pipeline: the inputs written in sample order as tar entries into
 * the shards of a {@linkcode PackPlan}. Either bounded-parallel reads into
 * JavaScript, or — local files into a destination whose writers append files
 * themselves — one kernel copy per file with nothing read into JavaScript.
 *
 * @module
 */
import type { PackDestination, ShardWriter } from "./dest.ts";
import { entryHeader } from "./entry_name.ts";
import { readInOrder } from "./ordered_reads.ts";
import { type PackPlan, shardName } from "./plan.ts";
import type { PackSource } from "./source.ts";
import { TAR_BLOCK, TAR_END, tarPadding } from "./ustar.ts";

/** Options for {@linkcode writeShards}. */
export interface WriteShardsOptions {
  /** Reads in flight. */
  concurrency: number;
  /** Bytes of file data read but not yet written, at most. */
  budgetBytes: number;
  /** Pieces read but not yet written, at most (default: 4 per read in flight, + 4). */
  maxQueued?: number;
  /** Files larger than this are read in pieces of this size. */
  pieceBytes: number;
  /** Called after each file is written (file index, data bytes so far, shards closed). */
  onFile?: (index: number, bytesDone: number, shardsDone: number) => void;
  /** Stops the pack. */
  signal?: AbortSignal;
  /**
   * Called before each shard is opened and before each is closed (on S3
   * the close is what makes it visible); throws to stop the pack (the
   * destination lock's check).
   */
  guard?: () => Promise<void>;
}

/** A slice of one input file to read. */
interface Piece {
  index: number;
  offset: number;
  length: number;
}

function* piecesOf(plan: PackPlan, pieceBytes: number): Generator<Piece> {
  for (let index = 0; index < plan.files.length; index++) {
    const size = plan.files.size(index);
    for (let offset = 0; offset < size; offset += pieceBytes) {
      yield { index, offset, length: Math.min(pieceBytes, size - offset) };
    }
  }
}

const ZEROS = new Uint8Array(TAR_BLOCK);

/** How often the copy loop lets timers and signal handlers run. */
const YIELD_EVERY_MS = 50;

/**
 * The shard being written and the position in it, checked against the
 * plan at every entry and at every shard's end.
 */
class ShardCursor {
  #plan: PackPlan;
  #dest: PackDestination;
  #guard: () => Promise<void>;
  #header = new Uint8Array(TAR_BLOCK); // reused: writers copy
  shard = -1;
  writer: ShardWriter | undefined;
  pos = 0;
  bytesDone = 0;

  constructor(
    plan: PackPlan,
    dest: PackDestination,
    guard: () => Promise<void>,
  ) {
    this.#plan = plan;
    this.#dest = dest;
    this.#guard = guard;
  }

  /** Opens the file's shard when it is not the current one. */
  async enter(index: number): Promise<ShardWriter> {
    const k = this.#plan.shardOf[index];
    if (k !== this.shard) {
      await this.close();
      this.shard = k;
      this.pos = 0;
      await this.#guard();
      this.writer = await this.#dest.openShard(k, this.#plan.shardSizes[k]);
    }
    return this.writer!;
  }

  /** The file's tar header (to write next; valid until the next call). */
  header(
    index: number,
    rel = this.#plan.files.rel(index),
    size = this.#plan.files.size(index),
  ): Uint8Array {
    if (this.pos !== this.#plan.headerOffset[index]) {
      throw new Error(`pack layout drift at file ${index} (${rel})`);
    }
    this.pos += TAR_BLOCK;
    return entryHeader(index, rel, size, this.#header);
  }

  /** Opens the file's shard if needed and writes its tar header. */
  async begin(index: number): Promise<ShardWriter> {
    const writer = await this.enter(index);
    await writer.write(this.header(index));
    return writer;
  }

  /** Accounts for `n` data bytes written. */
  data(n: number): void {
    this.pos += n;
  }

  /** Bytes of padding after a file of `size` bytes (to write next). */
  padding(size: number): number {
    const pad = tarPadding(size);
    this.pos += pad;
    this.bytesDone += size;
    return pad;
  }

  /** Writes the end-of-archive blocks and closes the current shard. */
  async close(): Promise<void> {
    const w = this.writer;
    if (!w) return;
    await w.write(TAR_END);
    this.pos += TAR_END.length;
    if (this.pos !== this.#plan.shardSizes[this.shard]) {
      throw new Error(
        `pack layout drift: ${
          shardName(this.shard)
        } has ${this.pos} bytes, planned ${this.#plan.shardSizes[this.shard]}`,
      );
    }
    this.writer = undefined;
    try {
      await this.#guard(); // closing makes an S3 shard visible
      await w.close();
    } catch (err) {
      await w.abort(); // a shard that did not close whole is not left behind
      throw err;
    }
  }
}

/**
 * Reads (or has the destination append) every input and writes the shards
 * of `plan` to `dest`. On failure the shard being written is aborted and
 * the error rethrown.
 *
 * @param plan The layout from {@linkcode planShards}.
 * @param source Where the files are read.
 * @param dest Where the shards go.
 * @param options Concurrency, memory budget, progress.
 * @throws {Mx8Error} Whatever the source or destination throws.
 */
export async function writeShards(
  plan: PackPlan,
  source: PackSource,
  dest: PackDestination,
  options: WriteShardsOptions,
): Promise<void> {
  const cursor = new ShardCursor(
    plan,
    dest,
    options.guard ?? (() => Promise.resolve()),
  );
  try {
    const root = source.localRoot;
    // The destination appends local files itself when it can.
    if (dest.appendsFiles && root) {
      await appendAll(plan, root, cursor, options);
    } else {
      await readAll(plan, source, cursor, options);
    }
    await cursor.close();
  } catch (err) {
    await cursor.writer?.abort();
    throw err;
  }
}

async function appendAll(
  plan: PackPlan,
  root: string,
  cursor: ShardCursor,
  options: WriteShardsOptions,
): Promise<void> {
  // One synchronous call per file; per file only the path's slice of the
  // listing is made (no object, no promise): the JS heap stays near the
  // size it had after planning, whatever the file count.
  let yielded = performance.now();
  for (let index = 0; index < plan.files.length; index++) {
    options.signal?.throwIfAborted();
    if (plan.shardOf[index] !== cursor.shard) await cursor.enter(index);
    const rel = plan.files.rel(index);
    const size = plan.files.size(index);
    const header = cursor.header(index, rel, size);
    cursor.data(size);
    const pad = cursor.padding(size);
    cursor.writer!.appendEntrySync!(header, root, rel, size, pad);
    options.onFile?.(index, cursor.bytesDone, cursor.shard);
    // Appends block; let timers (progress) and signals run now and then.
    if ((index & 63) === 63 && performance.now() - yielded > YIELD_EVERY_MS) {
      await new Promise((r) => setTimeout(r, 0));
      yielded = performance.now();
    }
  }
}

async function readAll(
  plan: PackPlan,
  source: PackSource,
  cursor: ShardCursor,
  options: WriteShardsOptions,
): Promise<void> {
  const reads = readInOrder(
    piecesOf(plan, options.pieceBytes),
    (p, into, signal) =>
      source.read(plan.files.at(p.index), p.offset, into, signal),
    {
      concurrency: options.concurrency,
      budgetBytes: options.budgetBytes,
      maxQueued: options.maxQueued ?? options.concurrency * 4 + 4,
      cost: (p) => p.length,
      signal: options.signal,
    },
  );
  for await (const { task: p, data } of reads) {
    const size = plan.files.size(p.index);
    const writer = p.offset === 0
      ? await cursor.begin(p.index)
      : cursor.writer!;
    await writer.write(data);
    cursor.data(data.length);
    if (p.offset + p.length === size) {
      const pad = cursor.padding(size);
      if (pad > 0) await writer.write(ZEROS.subarray(0, pad));
      options.onFile?.(p.index, cursor.bytesDone, cursor.shard);
    }
  }
}
