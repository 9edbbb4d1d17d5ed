/**
 * Opens the manifest store named by a flag, `MX8_MANIFEST_STORE`, or the
 * default `~/.mx8/manifests`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { isS3Url } from "../s3/url.ts";
import { FsManifestStore } from "./fs.ts";
import { S3ManifestStore } from "./s3.ts";
import type { ManifestStore } from "./store.ts";

/**
 * Returns the default store root: `MX8_MANIFEST_STORE`, else `~/.mx8/manifests`.
 *
 * @returns The root.
 */
export function defaultStoreRoot(): string {
  const env = Deno.env.get("MX8_MANIFEST_STORE");
  if (env) return env;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return join(home, ".mx8", "manifests");
}

/**
 * Opens a manifest store.
 *
 * @param root A directory or `s3://bucket/prefix` (default {@linkcode defaultStoreRoot}).
 * @returns The store.
 */
export function openManifestStore(
  root: string = defaultStoreRoot(),
): ManifestStore {
  return isS3Url(root)
    ? new S3ManifestStore(root)
    : new FsManifestStore(resolve(root));
}
