/**
 * Thin S3 object operations with errors that name bucket, key and code.
 *
 * @module
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isS3NotFound, s3Error } from "./errors.ts";

/** One listed object. */
export interface S3ObjectInfo {
  /** Full key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Last modification time (ms since epoch). */
  lastModifiedMs: number;
}

/**
 * Lists every object under a prefix (ListObjectsV2, all pages).
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param prefix Key prefix.
 * @yields Objects in the order S3 returns them (UTF-8 binary order).
 */
export async function* listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<S3ObjectInfo> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
    } catch (err) {
      throw s3Error(err, "ListObjectsV2", bucket, prefix);
    }
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      yield {
        key: o.Key,
        size: o.Size ?? 0,
        lastModifiedMs: o.LastModified?.getTime() ?? 0,
      };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Reads an object (or a byte range of it) fully into memory.
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param key Key.
 * @param range Optional `[offset, length]`.
 * @param signal Optional abort signal.
 * @returns The bytes, or `null` when the object does not exist.
 */
export async function getObjectBytes(
  client: S3Client,
  bucket: string,
  key: string,
  range?: [number, number],
  signal?: AbortSignal,
): Promise<Uint8Array | null> {
  try {
    const res = await client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        Range: range
          ? `bytes=${range[0]}-${range[0] + range[1] - 1}`
          : undefined,
      }),
      { abortSignal: signal },
    );
    return await res.Body!.transformToByteArray();
  } catch (err) {
    if (isS3NotFound(err)) return null;
    throw s3Error(err, "GetObject", bucket, key);
  }
}

/**
 * Reads a whole object with its ETag (which changes when it is replaced).
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param key Key.
 * @returns Bytes and ETag, or `null` when the object does not exist.
 */
export async function getObjectTagged(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ bytes: Uint8Array; etag: string } | null> {
  try {
    const res = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
    );
    return {
      bytes: await res.Body!.transformToByteArray(),
      etag: res.ETag ?? "",
    };
  } catch (err) {
    if (isS3NotFound(err)) return null;
    throw s3Error(err, "GetObject", bucket, key);
  }
}

/**
 * Reads an object's size and modification time.
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param key Key.
 * @returns Size/mtime/etag, or `null` when the object does not exist.
 */
export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ size: number; lastModifiedMs: number; etag?: string } | null> {
  try {
    const res = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key }),
    );
    return {
      size: res.ContentLength ?? 0,
      lastModifiedMs: res.LastModified?.getTime() ?? 0,
      etag: res.ETag,
    };
  } catch (err) {
    if (isS3NotFound(err)) return null;
    throw s3Error(err, "HeadObject", bucket, key);
  }
}

/**
 * Writes an object. With `ifNoneMatch: true` the put is conditional
 * (`If-None-Match: *`): the SDK error of a lost race is rethrown unwrapped so
 * callers can tell it apart.
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param key Key.
 * @param body Bytes or text.
 * @param options `ifNoneMatch` for create-exclusive puts.
 */
export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  options: { ifNoneMatch?: boolean } = {},
): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        IfNoneMatch: options.ifNoneMatch ? "*" : undefined,
      }),
    );
  } catch (err) {
    if (options.ifNoneMatch) {
      const s = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (s === 412 || s === 409) throw err;
    }
    throw s3Error(err, "PutObject", bucket, key);
  }
}

/**
 * Deletes an object (missing objects are fine).
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param key Key.
 */
export async function deleteObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<void> {
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isS3NotFound(err)) return;
    throw s3Error(err, "DeleteObject", bucket, key);
  }
}
