/**
 * The segment source of a loader working alone: one segment, the planned
 * epoch of a locally resolved dataset; tracks the position for checkpoints.
 *
 * @module
 */
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./checkpoint.ts";
import { type Dataset, openDataset } from "./dataset.ts";
import { manifestIdentity } from "../snapshot/read_base.ts";
import { Mx8Error } from "../errors.ts";
import type { LoaderOptions } from "./options.ts";
import { cutBatches, planOrder } from "./plan.ts";
import type { Segment, SegmentSource, SourceInfo } from "./segment.ts";

/** Order parameters of a local loader. */
interface Order {
  startId: number;
  endId: number;
  shuffle: boolean;
  seed: bigint;
  epoch: number;
}

/** One planned epoch over a locally resolved dataset. */
export class LocalSource implements SegmentSource {
  #link: string;
  #options: LoaderOptions;
  #batchSize: number;
  #dataset?: Dataset;
  #checkOpen?: (path: string) => Promise<void>;
  #order?: Order;
  #position = 0;
  #given = false;
  #batchCount?: number;

  /**
   * Creates the source; nothing is read until {@linkcode next}.
   *
   * @param link Dataset link.
   * @param options Loader options.
   * @param batchSize Samples per batch.
   */
  constructor(link: string, options: LoaderOptions, batchSize: number) {
    this.#link = link;
    this.#options = options;
    this.#batchSize = batchSize;
  }

  /** @inheritdoc */
  get info(): SourceInfo {
    const d = this.#dataset;
    return {
      manifestHash: d?.snapshot.manifestHash ?? "",
      root: d?.root ?? "",
      classes: d?.classes ?? [],
      checkOpen: this.#checkOpen,
    };
  }

  /** @inheritdoc */
  get want(): number {
    return 0;
  }

  /**
   * How many batches this source's one segment holds: the planned epoch cut
   * into batches (the last may be shorter), from the resume position on.
   * Undefined until the first {@linkcode next}.
   */
  get batchCount(): number | undefined {
    return this.#batchCount;
  }

  /** The opened dataset, once opened. */
  get dataset(): Dataset | undefined {
    return this.#dataset;
  }

  /** @inheritdoc */
  async next(): Promise<Segment | null> {
    if (this.#given) return null;
    this.#given = true;
    const o = this.#options;
    const dataset = await openDataset(this.#link, o.manifestStore);
    this.#dataset = dataset;
    this.#checkOpen = repackCheck(dataset);
    const n = dataset.rows.length;
    const order: Order = {
      startId: o.startId ?? 0,
      endId: o.endId ?? n,
      shuffle: o.shuffle ?? false,
      seed: BigInt(o.seed ?? 0),
      epoch: o.epoch ?? 0,
    };
    if (o.resumeFrom !== undefined) {
      const c = decodeCheckpoint(o.resumeFrom);
      const hash = dataset.snapshot.manifestHash;
      if (c.manifestHash !== hash) {
        throw new CheckpointError(
          `resumeFrom token is for manifest ${c.manifestHash} but "${this.#link}" resolved to ${hash}: ` +
            `open the loader with ${dataset.snapshot.base}@sha256:${c.manifestHash}`,
        );
      }
      Object.assign(order, {
        startId: c.startId,
        endId: c.endId,
        shuffle: c.shuffle,
        seed: BigInt(c.seed),
        epoch: c.epoch,
      });
      this.#position = c.position;
    }
    const { startId, endId } = order;
    if (
      !Number.isSafeInteger(startId) || !Number.isSafeInteger(endId) ||
      startId < 0 ||
      endId > n || startId > endId
    ) {
      throw new RangeError(
        `startId/endId [${startId}, ${endId}) is outside the manifest's ids [0, ${n})`,
      );
    }
    this.#order = order;
    const ids = planOrder({ ...order, blockSize: o.shuffleBlockSize });
    const batches = cutBatches(ids, this.#batchSize, this.#position);
    this.#batchCount = batches.length;
    return {
      batches,
      row: (id) => dataset.rows[id],
      label: (id) => dataset.labelIds[id],
      delivered: (_index, batch) => this.#position += batch.length,
    };
  }

  /**
   * A token that resumes after the batches handed out so far.
   *
   * @returns The token.
   */
  checkpoint(): string {
    const d = this.#dataset;
    const o = this.#order;
    if (!d || !o) {
      throw new Error(
        "checkpoint() needs an open loader: call open() or take a batch first",
      );
    }
    return encodeCheckpoint({
      v: 1,
      manifestHash: d.snapshot.manifestHash,
      epoch: o.epoch,
      seed: o.seed.toString(),
      shuffle: o.shuffle,
      startId: o.startId,
      endId: o.endId,
      position: this.#position,
    });
  }

  /** @inheritdoc */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * For a packed dataset: a check that its manifest file is still the one
 * resolved (one stat or HEAD). A pack removes the manifest before any
 * shard changes (local: before staged shards are moved into place; S3:
 * before the first shard upload), so a shard opened or read before this
 * check passes held the resolved bytes.
 */
function repackCheck(
  dataset: Dataset,
): ((path: string) => Promise<void>) | undefined {
  const { base, manifestIdentity: resolved, manifestHash } = dataset.snapshot;
  if (resolved === undefined) return undefined;
  return async (path) => {
    const now = await manifestIdentity(base).catch(() => "unreadable");
    if (now === resolved) return;
    throw new Mx8Error(
      `${base} was repacked (or is being repacked) since it was resolved to manifest ` +
        `sha256:${manifestHash}: ${path} no longer holds its samples. Open the dataset again ` +
        `to read what it holds now, or pack to a new --out to keep a dataset readable while ` +
        `it is in use`,
    );
  };
}
