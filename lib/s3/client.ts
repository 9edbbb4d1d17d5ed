/**
 * S3 client factory: honours `MX8_S3_ENDPOINT` / `AWS_ENDPOINT_URL` (path-style
 * addressing for custom endpoints such as MinIO or s3rver) and `AWS_REGION`.
 *
 * @module
 */
import { S3Client } from "@aws-sdk/client-s3";

/** Options for {@linkcode createS3Client}. */
export interface S3ClientOptions {
  /** Endpoint URL; defaults to `MX8_S3_ENDPOINT`, then `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  /** Region; defaults to `AWS_REGION`, then `us-east-1`. */
  region?: string;
  /** Path-style addressing; defaults to true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** SDK retry attempts (default 3). */
  maxAttempts?: number;
}

/**
 * Reads the S3 endpoint from the environment.
 *
 * @returns The endpoint URL, if configured.
 */
export function s3EndpointFromEnv(): string | undefined {
  return Deno.env.get("MX8_S3_ENDPOINT") || Deno.env.get("AWS_ENDPOINT_URL") ||
    undefined;
}

const cache = new Map<string, S3Client>();

/**
 * Returns an S3 client for the configured endpoint (cached per configuration).
 *
 * @param options Endpoint, region and addressing overrides.
 * @returns The client.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const endpoint = options.endpoint ?? s3EndpointFromEnv();
  const region = options.region ?? Deno.env.get("AWS_REGION") ?? "us-east-1";
  const forcePathStyle = options.forcePathStyle ??
    (Deno.env.get("MX8_S3_FORCE_PATH_STYLE") === "1" || endpoint !== undefined);
  const maxAttempts = options.maxAttempts ?? 3;
  const key = JSON.stringify([endpoint, region, forcePathStyle, maxAttempts]);
  let client = cache.get(key);
  if (!client) {
    client = new S3Client({ endpoint, region, forcePathStyle, maxAttempts });
    cache.set(key, client);
  }
  return client;
}
