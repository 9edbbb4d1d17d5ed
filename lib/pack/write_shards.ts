/**
 * The pack pipeline: bounded-parallel reads of the inputs, written in sample
 * order as tar entries into the shards of a {@linkcode PackPlan}.
 *
 * @module
 */
import type { PackDestination, ShardWriter } from "./dest.ts";
import { entryName } from "./entry_name.ts";
import { readInOrder } from "./ordered_reads.ts";
import { type PackPlan, shardName } from "./plan.ts";
import type { PackSource } from "./source.ts";
import { TAR_BLOCK, TAR_END, tarPadding, ustarHeader } from "./ustar.ts";

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
}

/** A slice of one input file to read. */
interface Piece {
  index: number;
  offset: number;
  length: number;
}

function* piecesOf(plan: PackPlan, pieceBytes: number): Generator<Piece> {
  for (let index = 0; index < plan.files.length; index++) {
    const size = plan.files[index].size;
    for (let offset = 0; offset < size; offset += pieceBytes) {
      yield { index, offset, length: Math.min(pieceBytes, size - offset) };
    }
  }
}

const ZEROS = new Uint8Array(TAR_BLOCK);

/**
 * Reads every input and writes the shards of `plan` to `dest`. On failure
 * the shard being written is aborted and the error rethrown.
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
  let shard = -1;
  let writer: ShardWriter | undefined;
  let pos = 0;
  let bytesDone = 0;
  const header = new Uint8Array(TAR_BLOCK); // reused: writers copy
  const closeShard = async () => {
    if (!writer) return;
    await writer.write(TAR_END);
    pos += TAR_END.length;
    checkSize(plan, shard, pos);
    const w = writer;
    writer = undefined;
    await w.close();
  };
  try {
    const reads = readInOrder(
      piecesOf(plan, options.pieceBytes),
      (p, into, signal) =>
        source.read(plan.files[p.index], p.offset, into, signal),
      {
        concurrency: options.concurrency,
        budgetBytes: options.budgetBytes,
        maxQueued: options.maxQueued ?? options.concurrency * 4 + 4,
        cost: (p) => p.length,
        signal: options.signal,
      },
    );
    for await (const { task: p, data } of reads) {
      const { rel, size } = plan.files[p.index];
      if (p.offset === 0) {
        const k = plan.shardOf[p.index];
        if (k !== shard) {
          await closeShard();
          shard = k;
          pos = 0;
          writer = await dest.openShard(k, plan.shardSizes[k]);
        }
        if (pos !== plan.headerOffset[p.index]) {
          throw new Error(`pack layout drift at file ${p.index} (${rel})`);
        }
        await writer!.write(ustarHeader(entryName(p.index, rel), size, header));
        pos += TAR_BLOCK;
      }
      await writer!.write(data);
      pos += data.length;
      if (p.offset + p.length === size) {
        const pad = tarPadding(size);
        if (pad > 0) await writer!.write(ZEROS.subarray(0, pad));
        pos += pad;
        bytesDone += size;
        options.onFile?.(p.index, bytesDone, shard);
      }
    }
    await closeShard();
  } catch (err) {
    await writer?.abort();
    throw err;
  }
}

function checkSize(plan: PackPlan, k: number, size: number): void {
  if (size !== plan.shardSizes[k]) {
    throw new Error(
      `pack layout drift: ${shardName(k)} has ${size} bytes, planned ${
        plan.shardSizes[k]
      }`,
    );
  }
}
