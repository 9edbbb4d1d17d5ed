/**
 * S3 multipart uploads (CreateMultipartUpload / UploadPart /
 * CompleteMultipartUpload / AbortMultipartUpload) with errors naming the
 * bucket, key and code.
 *
 * @module
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { s3Error } from "./errors.ts";

/** S3's smallest part size for every part but the last (5 MiB). */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;

/** S3's largest number of parts in one upload. */
export const S3_MAX_PARTS = 10_000;

/**
 * One multipart upload. Parts may be uploaded concurrently and in any order;
 * `complete` assembles them by part number. Call `abort` on failure so S3
 * drops the parts already stored.
 *
 * @example Upload an object in parts
 * ```ts ignore
 * import { createS3Client } from "./client.ts";
 * import { MultipartUpload } from "./multipart.ts";
 * const upload = await MultipartUpload.create(createS3Client(), "b", "k");
 * try {
 *   await upload.uploadPart(1, new Uint8Array(5 * 2 ** 20));
 *   await upload.uploadPart(2, new Uint8Array(10));
 *   await upload.complete();
 * } catch (err) {
 *   await upload.abort().catch(() => {});
 *   throw err;
 * }
 * ```
 */
export class MultipartUpload {
  #client: S3Client;
  #etags = new Map<number, string>();
  /** Bucket of the object. */
  readonly bucket: string;
  /** Key of the object. */
  readonly key: string;
  /** The upload id S3 assigned. */
  readonly uploadId: string;

  private constructor(
    client: S3Client,
    bucket: string,
    key: string,
    uploadId: string,
  ) {
    this.#client = client;
    this.bucket = bucket;
    this.key = key;
    this.uploadId = uploadId;
  }

  /**
   * Starts a multipart upload.
   *
   * @param client S3 client.
   * @param bucket Bucket.
   * @param key Key of the object to create.
   * @returns The upload.
   * @throws {S3Error} When S3 refuses (missing bucket, access denied, ...).
   */
  static async create(
    client: S3Client,
    bucket: string,
    key: string,
  ): Promise<MultipartUpload> {
    let uploadId: string | undefined;
    try {
      const res = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
      );
      uploadId = res.UploadId;
    } catch (err) {
      throw s3Error(err, "CreateMultipartUpload", bucket, key);
    }
    if (!uploadId) {
      throw s3Error(
        new Error("no UploadId in the response"),
        "CreateMultipartUpload",
        bucket,
        key,
      );
    }
    return new MultipartUpload(client, bucket, key, uploadId);
  }

  /**
   * Uploads one part.
   *
   * @param partNumber 1-based part number (parts join in this order).
   * @param body Part bytes (≥ 5 MiB unless it is the last part).
   * @param signal Optional abort signal.
   * @throws {S3Error} When the upload fails.
   */
  async uploadPart(
    partNumber: number,
    body: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      const res = await this.#client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        { abortSignal: signal },
      );
      this.#etags.set(partNumber, res.ETag ?? "");
    } catch (err) {
      throw s3Error(err, `UploadPart ${partNumber}`, this.bucket, this.key);
    }
  }

  /**
   * Completes the upload: the object appears with the parts in order.
   *
   * @throws {S3Error} When S3 refuses.
   */
  async complete(): Promise<void> {
    const parts = [...this.#etags.entries()]
      .sort(([a], [b]) => a - b)
      .map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
    try {
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      throw s3Error(err, "CompleteMultipartUpload", this.bucket, this.key);
    }
  }

  /**
   * Aborts the upload so S3 frees the stored parts.
   *
   * @throws {S3Error} When S3 refuses (callers cleaning up usually ignore it).
   */
  async abort(): Promise<void> {
    try {
      await this.#client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
        }),
      );
    } catch (err) {
      throw s3Error(err, "AbortMultipartUpload", this.bucket, this.key);
    }
  }
}
