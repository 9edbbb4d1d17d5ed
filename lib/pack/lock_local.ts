/**
 * The destination lock on a local disk: `_mx8/.pack.lock` created
 * exclusively, refreshed by touching it, taken over atomically (rename)
 * when stale.
 *
 * @module
 */
import { join } from "node:path";
import { pathError } from "../errors.ts";
import {
  formatOwner,
  isStale,
  keepRefreshed,
  lockedError,
  lostLockError,
  newOwner,
  PACK_LOCK,
  type PackLock,
  parseOwner,
} from "./lock.ts";

async function readOwner(path: string) {
  try {
    const [text, st] = await Promise.all([
      Deno.readTextFile(path),
      Deno.stat(path),
    ]);
    return { owner: parseOwner(text), refreshedMs: st.mtime?.getTime() ?? 0 };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw pathError(err, path, "read");
  }
}

/**
 * Takes the lock of a local destination.
 *
 * @param root Absolute destination directory.
 * @returns The held lock.
 * @throws {Mx8Error} When another live pack holds it.
 * @throws {PathError} When the lock cannot be written.
 */
export async function lockLocal(root: string): Promise<PackLock> {
  const path = join(root, ...PACK_LOCK.split("/"));
  const me = newOwner();
  // Directories made for the lock are removed with it when left empty (a
  // pack refused up front leaves nothing behind).
  const made: string[] = [];
  for (const dir of [root, join(root, "_mx8")]) {
    try {
      await Deno.mkdir(dir);
      made.push(dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw pathError(err, dir, "create directory");
      }
    }
  }
  const removeMade = async () => {
    for (const dir of made.reverse()) await Deno.remove(dir).catch(() => {});
  };
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.writeTextFile(path, formatOwner(me), { createNew: true });
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        await removeMade();
        throw pathError(err, path, "create");
      }
    }
    const held = await readOwner(path);
    if (held === null) continue; // released meanwhile
    if (attempt > 0 || !isStale(held.owner, held.refreshedMs, Date.now())) {
      throw lockedError(path, held.owner);
    }
    // Stale: move it aside; only one taker wins the rename. Put back a
    // lock that is not the one judged stale (another taker's fresh one).
    const aside = `${path}.stale-${me.token}`;
    try {
      await Deno.rename(path, aside);
    } catch {
      continue;
    }
    const moved = await readOwner(aside);
    if (moved && moved.owner.token !== held.owner.token) {
      await Deno.rename(aside, path).catch(() => {});
      throw lockedError(path, moved.owner);
    }
    await Deno.remove(aside).catch(() => {});
  }
  const ours = async () => (await readOwner(path))?.owner.token === me.token;
  // Re-stamped only while ours: a pack that lost its lock never freshens
  // the new holder's.
  const refresher = keepRefreshed(async () => {
    if (!(await ours())) return false;
    const now = new Date();
    await Deno.utime(path, now, now);
    return true;
  }, () => lostLockError(path));
  return {
    signal: refresher.signal,
    async check() {
      if (!(await ours())) throw lostLockError(path);
    },
    async release() {
      refresher.stop();
      try {
        if (await ours()) await Deno.remove(path);
      } catch {
        // Best effort: a lock left behind goes stale.
      }
      await removeMade();
    },
  };
}
