/**
 * Filesystem manifest store.
 *
 * @module
 */
import { join } from "node:path";
import { pathError, StoreError } from "../errors.ts";
import { safeComponent } from "./keys.ts";
import { bytesEqual } from "../util/bytes_equal.ts";
import {
  type CurrentSnapshot,
  formatCurrent,
  type ManifestStore,
  parseCurrent,
} from "./store.ts";

function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw pathError(err, path, "read");
  }
}

/** A manifest store in a local directory. */
export class FsManifestStore implements ManifestStore {
  /** The store directory. */
  readonly root: string;

  /**
   * Opens (lazily creates) a store directory.
   *
   * @param root Store directory.
   */
  constructor(root: string) {
    this.root = root;
  }

  #path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  async #mkdir(dir: string): Promise<void> {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (err) {
      throw pathError(err, dir, "create the manifest store directory");
    }
  }

  /** @inheritdoc */
  async getManifest(hash: string): Promise<Uint8Array | null> {
    return await readOrNull(
      this.#path("by-hash", safeComponent("manifest hash", hash)),
    );
  }

  /** @inheritdoc */
  async putManifest(hash: string, bytes: Uint8Array): Promise<void> {
    const dir = this.#path("by-hash");
    const final = join(dir, safeComponent("manifest hash", hash));
    await this.#mkdir(dir);
    const tmp = `${final}.tmp-${randomSuffix()}`;
    try {
      await Deno.writeFile(tmp, bytes, { createNew: true });
      // link() is create-exclusive and publishes complete bytes atomically.
      await Deno.link(tmp, final);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw pathError(err, final, "write");
      }
      const existing = await readOrNull(final);
      if (existing === null || !bytesEqual(existing, bytes)) {
        throw new StoreError(
          `Manifest store conflict: ${final} already holds different bytes for this hash ` +
            `(the store is corrupt; move that file away and resolve again)`,
        );
      }
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }

  /** @inheritdoc */
  async getCurrent(key: string): Promise<CurrentSnapshot | null> {
    const path = this.#path(
      "intent",
      safeComponent("intent key", key),
      "current",
    );
    const bytes = await readOrNull(path);
    if (bytes === null) return null;
    const stat = await Deno.stat(path).catch(() => null);
    return parseCurrent(
      new TextDecoder().decode(bytes),
      stat?.mtime?.getTime() ?? 0,
    );
  }

  /** @inheritdoc */
  async setCurrent(
    key: string,
    hash: string,
    source?: string,
    identity?: string,
  ): Promise<void> {
    const dir = this.#path("intent", safeComponent("intent key", key));
    safeComponent("manifest hash", hash);
    await this.#replace(dir, "current", formatCurrent(hash, source, identity));
  }

  /** @inheritdoc */
  async getLabels(hash: string): Promise<Uint8Array | null> {
    return await readOrNull(
      this.#path("labels", safeComponent("manifest hash", hash)),
    );
  }

  /** @inheritdoc */
  async putLabels(hash: string, bytes: Uint8Array): Promise<Uint8Array | null> {
    const dir = this.#path("labels");
    const final = join(dir, safeComponent("manifest hash", hash));
    await this.#mkdir(dir);
    const tmp = `${final}.tmp-${randomSuffix()}`;
    try {
      await Deno.writeFile(tmp, bytes, { createNew: true });
      // link() is create-exclusive and publishes complete bytes atomically.
      await Deno.link(tmp, final);
      return null;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw pathError(err, final, "write");
      }
      const existing = await readOrNull(final);
      return existing === null || bytesEqual(existing, bytes) ? null : existing;
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }

  /** @inheritdoc */
  async getVideoIndex(hash: string): Promise<Uint8Array | null> {
    return await readOrNull(
      this.#path("video_index", safeComponent("manifest hash", hash)),
    );
  }

  /** @inheritdoc */
  async putVideoIndex(hash: string, bytes: Uint8Array): Promise<void> {
    await this.#replace(
      this.#path("video_index"),
      safeComponent("manifest hash", hash),
      bytes,
    );
  }

  /** Writes `dir/name` whole or not at all (temporary file + rename). */
  async #replace(
    dir: string,
    name: string,
    data: string | Uint8Array,
  ): Promise<void> {
    await this.#mkdir(dir);
    const final = join(dir, name);
    const tmp = `${final}.tmp-${randomSuffix()}`;
    try {
      if (typeof data === "string") await Deno.writeTextFile(tmp, data);
      else await Deno.writeFile(tmp, data);
      await Deno.rename(tmp, final);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw pathError(err, final, "write");
    }
  }

  /** @inheritdoc */
  async tryLock(
    key: string,
    staleMs: number,
  ): Promise<(() => Promise<void>) | null> {
    const dir = this.#path("locks");
    const path = join(dir, `${safeComponent("lock key", key)}.lock`);
    await this.#mkdir(dir);
    const token = `${Deno.pid}-${crypto.randomUUID()}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await Deno.writeTextFile(path, token, { createNew: true });
        return async () => {
          // Only remove the lock if it is still ours.
          const now = await readOrNull(path);
          if (now && new TextDecoder().decode(now) === token) {
            await Deno.remove(path).catch(() => {});
          }
        };
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) {
          throw pathError(err, path, "create");
        }
      }
      const stat = await Deno.stat(path).catch(() => null);
      if (stat === null) continue; // released meanwhile: try again
      const age = Date.now() - (stat.mtime?.getTime() ?? 0);
      if (age < staleMs) return null;
      // Stale: move it aside atomically; only one taker wins the rename.
      const aside = `${path}.stale-${randomSuffix()}`;
      try {
        await Deno.rename(path, aside);
      } catch {
        return null;
      }
      const moved = await Deno.stat(aside).catch(() => null);
      if (moved && Date.now() - (moved.mtime?.getTime() ?? 0) < staleMs) {
        // We raced another taker and moved its fresh lock: put it back, back off.
        await Deno.rename(aside, path).catch(() => {});
        return null;
      }
      await Deno.remove(aside).catch(() => {});
    }
    return null;
  }
}
