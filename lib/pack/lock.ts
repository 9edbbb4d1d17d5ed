/**
 * The destination lock of a pack, `DST/_mx8/.pack.lock`: one pack writes a
 * destination at a time; a second one fails at once, naming the lock and
 * its holder. The holder refreshes it every 10 s; a lock not refreshed for
 * 60 s (or, on the same host, whose process is gone) is stale and taken
 * over.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** The lock's path under the destination root. */
export const PACK_LOCK = "_mx8/.pack.lock";
/** A lock not refreshed for this long is stale. */
export const PACK_LOCK_STALE_MS = 60_000;
/** How often the holder refreshes its lock. */
export const PACK_LOCK_REFRESH_MS = 10_000;

/** A held destination lock. */
export interface PackLock {
  /**
   * Throws when the lock is no longer this pack's (taken over as stale):
   * called before the manifest is written, the commit point.
   */
  check(): Promise<void>;
  /** Releases the lock (only if still ours); never throws. */
  release(): Promise<void>;
}

/** What a lock file holds: who took it and when. */
export interface LockOwner {
  /** Unique per acquisition. */
  token: string;
  /** Process id of the pack. */
  pid: number;
  /** Host name of the pack. */
  host: string;
  /** When it was taken (ISO time). */
  since: string;
}

/**
 * A new owner record for this process.
 *
 * @returns The record.
 */
export function newOwner(): LockOwner {
  return {
    token: crypto.randomUUID(),
    pid: Deno.pid,
    host: hostName(),
    since: new Date().toISOString(),
  };
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

/**
 * Serializes an owner record (`key=value` lines).
 *
 * @param owner The record.
 * @returns The lock file text.
 */
export function formatOwner(owner: LockOwner): string {
  return `token=${owner.token}\npid=${owner.pid}\nhost=${owner.host}\nsince=${owner.since}\n`;
}

/**
 * Parses a lock file's text (missing fields come back empty).
 *
 * @param text Lock file text.
 * @returns The record.
 */
export function parseOwner(text: string): LockOwner {
  const get = (k: string) =>
    text.split("\n").find((l) => l.startsWith(k + "="))?.slice(k.length + 1) ??
      "";
  return {
    token: get("token"),
    pid: Number(get("pid")) || 0,
    host: get("host"),
    since: get("since"),
  };
}

/**
 * Whether a lock held by `owner`, last refreshed at `refreshedMs`, is
 * stale: not refreshed for {@linkcode PACK_LOCK_STALE_MS}, or held by a
 * process of this host that no longer runs (Linux: no `/proc/<pid>`).
 *
 * @param owner The holder.
 * @param refreshedMs Last refresh (ms since epoch).
 * @param nowMs Now.
 * @returns Whether the lock may be taken over.
 */
export function isStale(
  owner: LockOwner,
  refreshedMs: number,
  nowMs: number,
): boolean {
  if (nowMs - refreshedMs >= PACK_LOCK_STALE_MS) return true;
  if (
    Deno.build.os === "linux" && owner.pid > 0 && owner.host === hostName()
  ) {
    try {
      Deno.statSync(`/proc/${owner.pid}`);
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * The error of a pack that finds its destination locked.
 *
 * @param lockName Where the lock is.
 * @param owner Its holder.
 * @returns The error.
 */
export function lockedError(lockName: string, owner: LockOwner): Mx8Error {
  return new Mx8Error(
    `Another pack is writing this destination: ${lockName} is held by pid ${
      owner.pid || "?"
    } on ${owner.host || "?"} since ${
      owner.since || "?"
    }. Wait for it to finish ` +
      `(a lock not refreshed for ${
        PACK_LOCK_STALE_MS / 1000
      } s is taken over); if that pack is gone, delete ${lockName}`,
  );
}

/**
 * The error of a pack whose lock was taken over while it ran.
 *
 * @param lockName Where the lock is.
 * @returns The error.
 */
export function lostLockError(lockName: string): Mx8Error {
  return new Mx8Error(
    `Lost the destination lock ${lockName} to another pack (this one was ` +
      `too slow to refresh it): no manifest written; pack again once the other has finished`,
  );
}
