/**
 * Dataset links: `BASE`, `BASE@refresh` or `BASE@sha256:<64 hex>` (spec §2.1).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { LinkError } from "./errors.ts";

/** How a link chooses its snapshot. */
export type LinkMode = "plain" | "refresh" | "pinned";

/** A parsed dataset link. */
export interface DatasetLink {
  /** The link as given. */
  readonly raw: string;
  /** Local directory, local `.tsv` manifest, or `s3://bucket/prefix`. */
  readonly base: string;
  /** `plain` (current snapshot), `refresh` (re-index) or `pinned` (`@sha256:`). */
  readonly mode: LinkMode;
  /** The pinned manifest hash for `pinned` links. */
  readonly manifestHash?: string;
}

const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Returns true when `s` is a lowercase 64-hex-digit SHA-256 manifest hash.
 *
 * @param s Candidate hash.
 * @returns Whether it is a valid manifest hash.
 */
export function isManifestHash(s: string): boolean {
  return HASH_RE.test(s);
}

/**
 * Parses a dataset link, splitting at the last `@`. A suffix that is neither
 * `refresh` nor `sha256:…` is part of the base (so `dir@v2` is a plain path).
 *
 * @example Parse a pinned link
 * ```ts
 * import { parseLink } from "./link.ts";
 * const link = parseLink("s3://b/train@sha256:" + "a".repeat(64));
 * console.assert(link.mode === "pinned" && link.base === "s3://b/train");
 * ```
 *
 * @param raw The link text.
 * @returns The parsed link.
 * @throws {LinkError} When the link is empty or the `@sha256:` hash is malformed.
 */
export function parseLink(raw: string): DatasetLink {
  if (raw.trim() === "") {
    throw new LinkError(
      "Dataset link is empty: pass a directory, a .tsv manifest or s3://bucket/prefix",
    );
  }
  const at = raw.lastIndexOf("@");
  const suffix = at >= 0 ? raw.slice(at + 1) : "";
  const base = at >= 0 ? raw.slice(0, at) : raw;
  if (suffix === "refresh") {
    return { raw, base: checkBase(base, raw), mode: "refresh" };
  }
  if (suffix.startsWith("sha256:")) {
    const hash = suffix.slice("sha256:".length);
    if (!isManifestHash(hash)) {
      throw new LinkError(
        `Dataset link "${raw}" has a malformed hash "${hash}": expected 64 lowercase hex digits after @sha256:`,
      );
    }
    return {
      raw,
      base: checkBase(base, raw),
      mode: "pinned",
      manifestHash: hash,
    };
  }
  return { raw, base: checkBase(raw, raw), mode: "plain" };
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * Checks a link's BASE: `s3://` needs a bucket; `file://` URLs become local
 * paths; any other `scheme://` is refused (it would otherwise be read as a
 * relative path).
 */
function checkBase(base: string, raw: string): string {
  if (base === "") {
    throw new LinkError(
      `Dataset link "${raw}" has no base before "@": write BASE@refresh`,
    );
  }
  const scheme = SCHEME_RE.exec(base)?.[1];
  if (scheme === undefined) return base;
  if (scheme === "s3") {
    if (/^s3:\/\/(\/|$)/.test(base)) {
      throw new LinkError(
        `Dataset link "${raw}" has no bucket: write s3://bucket/prefix`,
      );
    }
    return base;
  }
  if (scheme === "file") {
    try {
      return fileURLToPath(base);
    } catch (err) {
      throw new LinkError(
        `Dataset link "${raw}" is not a local file URL (${
          (err as Error).message
        }): write file:///absolute/path or the path itself`,
      );
    }
  }
  throw new LinkError(
    `Dataset link "${raw}" uses ${scheme}://, which MX8 does not read: a BASE is ` +
      `a local directory or .tsv manifest (a path or file:///path) or s3://bucket/prefix`,
  );
}

/**
 * Returns BASE with trailing slashes removed (the form intent keys hash).
 *
 * @param base Dataset base.
 * @returns The normalized base.
 */
export function normalizeBase(base: string): string {
  return base.replace(/\/+$/, "") || base;
}
