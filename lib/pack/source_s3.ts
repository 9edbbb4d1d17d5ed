/**
 * Pack input from an S3 prefix: whole-object GETs for small files, ranged
 * GETs for the pieces of large ones.
 *
 * @module
 */
import { fileListOf } from "./file_list.ts";
import { Mx8Error } from "../errors.ts";
import { createS3Client } from "../s3/client.ts";
import { getObjectBytes } from "../s3/objects.ts";
import { joinKey, parseS3Url } from "../s3/url.ts";
import { listS3Objects } from "../snapshot/index_base.ts";
import { changedSizeError, type PackSource } from "./source.ts";

/** GETs in flight against S3 by default. */
export const S3_READ_CONCURRENCY = 8;

/**
 * Returns a source reading objects under `s3://bucket/prefix`.
 *
 * @param url `s3://bucket/prefix`.
 * @returns The source.
 */
export function s3Source(url: string): PackSource {
  const { bucket, key: prefix } = parseS3Url(url);
  const dir = prefix === "" || prefix.endsWith("/") ? prefix : prefix + "/";
  const client = createS3Client();
  return {
    root: url,
    list: async () => fileListOf(await listS3Objects(url)),
    async read(file, offset, into, signal) {
      const length = into.length;
      const key = joinKey(dir, file.rel);
      const whole = offset === 0 && length === file.size;
      const data = await getObjectBytes(
        client,
        bucket,
        key,
        whole ? undefined : [offset, length],
        signal,
      );
      const where = `s3://${bucket}/${key}`;
      if (data === null) {
        throw new Mx8Error(
          `Cannot pack ${where}: the object was deleted while packing`,
        );
      }
      if (data.length !== length) {
        throw changedSizeError(where, file.size, offset + data.length);
      }
      return data;
    },
  };
}
