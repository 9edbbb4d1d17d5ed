/**
 * Where a manifest row's bytes live: a local file or an S3 object.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { isS3Url, joinKey, parseS3Url } from "../s3/url.ts";

/** A resolved sample location. */
export type ResolvedLocation =
  | { kind: "local"; path: string }
  | { kind: "s3"; bucket: string; key: string };

/**
 * Resolves a manifest `location` against the dataset root: `s3://` and
 * absolute paths stand alone; anything else is relative to the root.
 *
 * @param location The row's location.
 * @param root Dataset root (local dir or `s3://bucket/prefix`).
 * @returns Where to read.
 */
export function resolveLocation(
  location: string,
  root: string,
): ResolvedLocation {
  if (isS3Url(location)) return { kind: "s3", ...parseS3Url(location) };
  if (isAbsolute(location)) return { kind: "local", path: location };
  if (isS3Url(root)) {
    const { bucket, key } = parseS3Url(root);
    return { kind: "s3", bucket, key: joinKey(key, location) };
  }
  return { kind: "local", path: join(root, location) };
}

/**
 * Renders a resolved location for messages.
 *
 * @param loc The location.
 * @returns `s3://bucket/key` or the path.
 */
export function describeLocation(loc: ResolvedLocation): string {
  return loc.kind === "s3" ? `s3://${loc.bucket}/${loc.key}` : loc.path;
}
