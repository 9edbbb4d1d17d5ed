/**
 * S3 manifest store: `s3://bucket/prefix/{by-hash,intent,locks}/…`.
 * Create-exclusive writes use conditional puts (`If-None-Match: *`); lock
 * ownership is confirmed by reading the lock back, which also protects
 * against S3-compatible servers that ignore the condition.
 *
 * @module
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { StoreError } from "../errors.ts";
import { createS3Client } from "../s3/client.ts";
import { isS3PreconditionFailed } from "../s3/errors.ts";
import {
  deleteObject,
  getObjectBytes,
  headObject,
  putObject,
} from "../s3/objects.ts";
import { joinKey, parseS3Url } from "../s3/url.ts";
import { safeComponent } from "./keys.ts";
import { bytesEqual } from "../util/bytes_equal.ts";
import {
  type CurrentSnapshot,
  formatCurrent,
  type ManifestStore,
  parseCurrent,
} from "./store.ts";

/** A manifest store under an S3 prefix. */
export class S3ManifestStore implements ManifestStore {
  /** `s3://bucket/prefix`. */
  readonly root: string;
  #client: S3Client;
  #bucket: string;
  #prefix: string;

  /**
   * Opens a store at `s3://bucket/prefix`.
   *
   * @param root Store URL.
   * @param client S3 client (default: {@linkcode createS3Client}).
   */
  constructor(root: string, client: S3Client = createS3Client()) {
    const { bucket, key } = parseS3Url(root);
    this.root = root;
    this.#client = client;
    this.#bucket = bucket;
    this.#prefix = key;
  }

  #key(...parts: string[]): string {
    return joinKey(this.#prefix, parts.join("/"));
  }

  /** @inheritdoc */
  async getManifest(hash: string): Promise<Uint8Array | null> {
    return await getObjectBytes(
      this.#client,
      this.#bucket,
      this.#key("by-hash", safeComponent("manifest hash", hash)),
    );
  }

  /** @inheritdoc */
  async putManifest(hash: string, bytes: Uint8Array): Promise<void> {
    const key = this.#key("by-hash", safeComponent("manifest hash", hash));
    const existing = await getObjectBytes(this.#client, this.#bucket, key);
    if (existing === null) {
      try {
        await putObject(this.#client, this.#bucket, key, bytes, {
          ifNoneMatch: true,
        });
        return;
      } catch (err) {
        if (!isS3PreconditionFailed(err)) throw err;
      }
    }
    const now = existing ??
      await getObjectBytes(this.#client, this.#bucket, key);
    if (now === null || !bytesEqual(now, bytes)) {
      throw new StoreError(
        `Manifest store conflict: s3://${this.#bucket}/${key} already holds different bytes ` +
          `for this hash (the store is corrupt; delete that object and resolve again)`,
      );
    }
  }

  /** @inheritdoc */
  async getCurrent(key: string): Promise<CurrentSnapshot | null> {
    const k = this.#key("intent", safeComponent("intent key", key), "current");
    const head = await headObject(this.#client, this.#bucket, k);
    if (head === null) return null;
    const bytes = await getObjectBytes(this.#client, this.#bucket, k);
    if (bytes === null) return null;
    return parseCurrent(new TextDecoder().decode(bytes), head.lastModifiedMs);
  }

  /** @inheritdoc */
  async setCurrent(
    key: string,
    hash: string,
    source?: string,
    identity?: string,
  ): Promise<void> {
    safeComponent("manifest hash", hash);
    const k = this.#key("intent", safeComponent("intent key", key), "current");
    await putObject(
      this.#client,
      this.#bucket,
      k,
      formatCurrent(hash, source, identity),
    );
  }

  /** @inheritdoc */
  async getLabels(hash: string): Promise<Uint8Array | null> {
    return await getObjectBytes(
      this.#client,
      this.#bucket,
      this.#key("labels", safeComponent("manifest hash", hash)),
    );
  }

  /** @inheritdoc */
  async putLabels(hash: string, bytes: Uint8Array): Promise<Uint8Array | null> {
    const key = this.#key("labels", safeComponent("manifest hash", hash));
    let existing = await getObjectBytes(this.#client, this.#bucket, key);
    if (existing === null) {
      try {
        await putObject(this.#client, this.#bucket, key, bytes, {
          ifNoneMatch: true,
        });
        return null;
      } catch (err) {
        if (!isS3PreconditionFailed(err)) throw err;
      }
      existing = await getObjectBytes(this.#client, this.#bucket, key);
    }
    return existing === null || bytesEqual(existing, bytes) ? null : existing;
  }

  /** @inheritdoc */
  async getVideoIndex(hash: string): Promise<Uint8Array | null> {
    return await getObjectBytes(
      this.#client,
      this.#bucket,
      this.#key("video_index", safeComponent("manifest hash", hash)),
    );
  }

  /** @inheritdoc */
  async putVideoIndex(hash: string, bytes: Uint8Array): Promise<void> {
    await putObject(
      this.#client,
      this.#bucket,
      this.#key("video_index", safeComponent("manifest hash", hash)),
      bytes,
    );
  }

  /** @inheritdoc */
  async tryLock(
    key: string,
    staleMs: number,
  ): Promise<(() => Promise<void>) | null> {
    const k = this.#key("locks", `${safeComponent("lock key", key)}.lock`);
    const token = `${Deno.pid}-${crypto.randomUUID()}`;
    const head = await headObject(this.#client, this.#bucket, k);
    if (head !== null) {
      if (Date.now() - head.lastModifiedMs < staleMs) return null;
      await deleteObject(this.#client, this.#bucket, k); // stale: take over
    }
    try {
      await putObject(this.#client, this.#bucket, k, token, {
        ifNoneMatch: true,
      });
    } catch (err) {
      if (isS3PreconditionFailed(err)) return null;
      throw err;
    }
    const back = await getObjectBytes(this.#client, this.#bucket, k);
    if (back === null || new TextDecoder().decode(back) !== token) return null;
    return async () => {
      const now = await getObjectBytes(this.#client, this.#bucket, k);
      if (now && new TextDecoder().decode(now) === token) {
        await deleteObject(this.#client, this.#bucket, k);
      }
    };
  }
}
