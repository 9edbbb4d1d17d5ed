/**
 * `s3://bucket/key` URLs.
 *
 * @module
 */
import { LinkError } from "../errors.ts";

/** A parsed `s3://` URL. */
export interface S3Url {
  /** Bucket name. */
  bucket: string;
  /** Key or prefix, without a leading `/` (may be empty). */
  key: string;
}

/**
 * Returns true when `s` starts with `s3://`.
 *
 * @param s A location or link base.
 * @returns Whether it names S3.
 */
export function isS3Url(s: string): boolean {
  return s.startsWith("s3://");
}

/**
 * Parses `s3://bucket/key`.
 *
 * @param url The URL.
 * @returns Bucket and key.
 * @throws {LinkError} When the URL has no bucket.
 */
export function parseS3Url(url: string): S3Url {
  if (!isS3Url(url)) throw new LinkError(`"${url}" is not an s3:// URL`);
  const rest = url.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (bucket === "") {
    throw new LinkError(`"${url}" has no bucket: write s3://bucket/prefix`);
  }
  return { bucket, key };
}

/**
 * Joins an S3 prefix and a relative path with exactly one `/`.
 *
 * @param prefix Key prefix (may be empty, may end with `/`).
 * @param rel Relative path.
 * @returns The key.
 */
export function joinKey(prefix: string, rel: string): string {
  if (prefix === "") return rel;
  return prefix.endsWith("/") ? prefix + rel : `${prefix}/${rel}`;
}
