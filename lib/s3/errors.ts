/**
 * Maps AWS SDK failures to {@linkcode S3Error} naming bucket, key and code.
 *
 * @module
 */
import { S3Error } from "../errors.ts";
import { s3EndpointFromEnv } from "./client.ts";

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Wraps an SDK error thrown by an S3 call.
 *
 * @param err The caught error.
 * @param operation S3 operation name, e.g. `GetObject`.
 * @param bucket Bucket of the request.
 * @param key Key or prefix of the request.
 * @returns An S3Error (or `err` when it already is one).
 */
export function s3Error(
  err: unknown,
  operation: string,
  bucket: string,
  key: string,
): Error {
  if (err instanceof S3Error) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode ?? 0;
  const code = e.Code ?? e.code ??
    (e.name && e.name !== "Error" ? e.name : "") ??
    "";
  let detail = e.message ?? String(err);
  if (detail === code || detail === "UnknownError") detail = "";
  if (!status) {
    const endpoint = s3EndpointFromEnv() ?? "the default AWS endpoint";
    detail = `${detail}${detail ? "; " : ""}cannot reach ${endpoint} ` +
      `(check MX8_S3_ENDPOINT / AWS_ENDPOINT_URL and the network)`;
  } else if (status === 403) {
    detail =
      `${detail}${
        detail ? "; " : ""
      }check the credentials (AWS_ACCESS_KEY_ID, ` +
      `AWS_SECRET_ACCESS_KEY) and the bucket policy`;
  } else if (code === "NoSuchBucket") {
    detail = `bucket "${bucket}" does not exist`;
  } else if (code === "NoSuchKey" || status === 404) {
    detail = `no object at this key`;
  }
  return new S3Error({
    operation,
    bucket,
    key,
    code: code || (status ? `HTTP${status}` : "NetworkError"),
    status,
    detail,
  }, { cause: err });
}

/**
 * Returns true when an SDK error means "no such key / not found".
 *
 * @param err The caught error.
 * @returns Whether the object does not exist.
 */
export function isS3NotFound(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorLike;
  return e.name === "NoSuchKey" || e.name === "NotFound" ||
    e.$metadata?.httpStatusCode === 404 && e.name !== "NoSuchBucket";
}

/**
 * Returns true when an SDK error is a failed precondition (conditional put lost).
 *
 * @param err The caught error.
 * @returns Whether the precondition failed (HTTP 412 / 409).
 */
export function isS3PreconditionFailed(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorLike;
  const s = e.$metadata?.httpStatusCode;
  return s === 412 || s === 409 || e.name === "PreconditionFailed";
}
