/**
 * Pack output to an S3 prefix: shards up to one part in size go up with one
 * PutObject, bigger ones as multipart uploads (aborted on failure); metadata
 * with single PutObjects after every shard is stored.
 *
 * @module
 */
import { collectBytes } from "../util/bytes_concat.ts";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../s3/client.ts";
import { MultipartUpload, S3_MAX_PARTS } from "../s3/multipart.ts";
import { deleteObject, listObjects, putObject } from "../s3/objects.ts";
import { joinKey, parseS3Url } from "../s3/url.ts";
import { PACKED_LABELS, PACKED_MANIFEST } from "../snapshot/list_local.ts";
import { BufferPool } from "./buffer_pool.ts";
import { Chunker } from "./chunker.ts";
import {
  type PackDestination,
  SHARD_FILE_RE,
  type ShardWriter,
} from "./dest.ts";
import { shardLocation } from "./plan.ts";
import { lockS3 } from "./lock_s3.ts";

/** Default multipart part size (16 MiB). */
export const S3_PART_BYTES = 16 * 1024 * 1024;

/** Parts of one shard uploading at once. */
export const S3_PARTS_IN_FLIGHT = 3;

/** Options for {@linkcode s3Destination}. */
export interface S3DestinationOptions {
  /** Multipart part size in bytes (default 16 MiB; S3 needs ≥ 5 MiB). */
  partBytes?: number;
  /** Client to use (default: {@linkcode createS3Client}). */
  client?: S3Client;
}

/**
 * Returns a destination writing under `s3://bucket/prefix`.
 *
 * @param url `s3://bucket/prefix`.
 * @param options Part size and client.
 * @returns The destination.
 */
export function s3Destination(
  url: string,
  options: S3DestinationOptions = {},
): PackDestination {
  const { bucket, key: prefix } = parseS3Url(url);
  const client = options.client ?? createS3Client();
  const partBytes = options.partBytes ?? S3_PART_BYTES;
  const keyOf = (rel: string) => joinKey(prefix, rel);
  // Part buffers are reused across parts and shards (one shard at a time).
  const pools = new Map<number, BufferPool>();
  const poolOf = (bytes: number) => {
    let pool = pools.get(bytes);
    if (!pool) pools.set(bytes, pool = new BufferPool(bytes));
    return pool;
  };
  const root = url.replace(/\/+$/, "");
  return {
    root,
    manifestPath: `${root}/${PACKED_MANIFEST}`,
    appendsFiles: false,
    stagesShards: false,
    lock: () => lockS3(client, bucket, prefix),
    async hasManifest() {
      // A listing (not a HEAD) so that a missing bucket is an error here.
      const key = keyOf(PACKED_MANIFEST);
      for await (const o of listObjects(client, bucket, key)) {
        if (o.key === key) return true;
      }
      return false;
    },
    async removeMetadata() {
      await deleteObject(client, bucket, keyOf(PACKED_MANIFEST));
      await deleteObject(client, bucket, keyOf(PACKED_LABELS));
    },
    openShard(k, size) {
      const key = keyOf(shardLocation(k));
      // Keep within S3's part-count limit whatever the shard size.
      const part = Math.max(partBytes, Math.ceil(size / S3_MAX_PARTS));
      return Promise.resolve(
        size <= part
          ? singlePutShard(client, bucket, key, poolOf(part), size)
          : multipartShard(client, bucket, key, poolOf(part)),
      );
    },
    async writeMetadata(name, bytes) {
      const body = bytes instanceof Uint8Array ? bytes : collectBytes(bytes);
      await putObject(client, bucket, keyOf(`_mx8/${name}`), body);
    },
    // Shards go straight to their final keys (a server-side copy of every
    // shard would double the upload); the lock is checked before each one
    // is completed instead.
    commitShards: () => Promise.resolve(),
    discardStaged: () => Promise.resolve(),
    async removeShardsFrom(k) {
      const dir = keyOf("shards/");
      const stale: string[] = [];
      for await (const o of listObjects(client, bucket, dir)) {
        const m = SHARD_FILE_RE.exec(o.key.slice(dir.length));
        if (m && Number(m[1]) >= k) stale.push(o.key);
      }
      for (const key of stale) await deleteObject(client, bucket, key);
    },
  };
}

function singlePutShard(
  client: S3Client,
  bucket: string,
  key: string,
  pool: BufferPool,
  size: number,
): ShardWriter {
  let body: Uint8Array | undefined = pool.take().subarray(0, size);
  let fill = 0;
  const release = () => {
    if (body) pool.give(body);
    body = undefined;
  };
  return {
    write(bytes) {
      if (!body || fill + bytes.length > size) {
        return Promise.reject(
          new Error(`shard ${key} overflows ${size} bytes`),
        );
      }
      body.set(bytes, fill);
      fill += bytes.length;
      return Promise.resolve();
    },
    async close() {
      try {
        await putObject(client, bucket, key, body!.subarray(0, fill));
      } finally {
        release();
      }
    },
    abort() {
      release();
      return Promise.resolve();
    },
  };
}

function multipartShard(
  client: S3Client,
  bucket: string,
  key: string,
  pool: BufferPool,
): ShardWriter {
  let upload: Promise<MultipartUpload> | undefined;
  const ac = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let partNumber = 0;
  const started =
    () => (upload ??= MultipartUpload.create(client, bucket, key));
  const chunker = new Chunker(pool.bufferBytes, async (chunk) => {
    if (failure !== undefined) throw failure;
    const up = await started();
    const n = ++partNumber;
    const p = up.uploadPart(n, chunk, ac.signal).catch((err) => {
      failure ??= err;
    }).finally(() => {
      inFlight.delete(p);
      pool.give(chunk);
    });
    inFlight.add(p);
    while (inFlight.size >= S3_PARTS_IN_FLIGHT) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  }, () => pool.take());
  return {
    write: (bytes) => chunker.write(bytes),
    async close() {
      await chunker.end();
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      await (await started()).complete();
    },
    async abort() {
      ac.abort();
      await Promise.all(inFlight);
      if (upload === undefined) return;
      try {
        await (await upload).abort();
      } catch {
        // Best effort: a bucket lifecycle rule cleans up what is left.
      }
    },
  };
}
