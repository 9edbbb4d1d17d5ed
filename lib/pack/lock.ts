/**
 * The destination lock of a pack, `DST/_mx8/.pack.lock`: one pack writes a
 * destination at a time; a second one fails at once, naming the lock and
 * its holder. The holder refreshes it every 10 s; a lock not refreshed for
 * 60 s (or, on the same host and in the same PID namespace, whose process
 * is gone) is stale and taken over. A holder whose refresh finds the lock
 * taken (or cannot refresh it for half the stale time) is aborted through
 * {@linkcode PackLock.signal}: it never writes another byte a committed
 * dataset depends on.
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
   * Aborted (reason: the lost-lock error) as soon as a refresh finds the
   * lock no longer ours, or when it could not be refreshed for half of
   * {@linkcode PACK_LOCK_STALE_MS}.
   */
  readonly signal: AbortSignal;
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
  /**
   * Inode of the holder's PID namespace (`/proc/self/ns/pid`; 0 when
   * unknown): a pid means something only in the same namespace.
   */
  pidns: number;
  /**
   * Start time of the holder's process (field 22 of `/proc/self/stat`;
   * empty when unknown): tells a reused pid from the holder.
   */
  start: string;
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
    pidns: pidNamespace(),
    start: processStart(Deno.pid),
  };
}

function pidNamespace(): number {
  if (Deno.build.os !== "linux") return 0;
  try {
    return Deno.statSync("/proc/self/ns/pid").ino ?? 0;
  } catch {
    return 0;
  }
}

/** Field 22 of `/proc/<pid>/stat` ("" when unreadable: gone or not Linux). */
function processStart(pid: number): string {
  if (Deno.build.os !== "linux") return "";
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command (field 2) is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
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
  return `token=${owner.token}\npid=${owner.pid}\nhost=${owner.host}\nsince=${owner.since}\n` +
    `pidns=${owner.pidns}\nstart=${owner.start}\n`;
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
    pidns: Number(get("pidns")) || 0,
    start: get("start"),
  };
}

/**
 * Whether a lock held by `owner`, last refreshed at `refreshedMs`, is
 * stale: not refreshed for {@linkcode PACK_LOCK_STALE_MS}, or held by a
 * process of this host and PID namespace that no longer runs (Linux: no
 * `/proc/<pid>`, or one started at another time: the pid was reused). A
 * holder in another PID namespace (a container on the same host name) or
 * recorded without one is judged by time only.
 *
 * @param owner The holder.
 * @param refreshedMs Last refresh (ms since epoch), on the clock of `nowMs`.
 * @param nowMs Now (on S3: the server's clock, never the local one).
 * @returns Whether the lock may be taken over.
 */
export function isStale(
  owner: LockOwner,
  refreshedMs: number,
  nowMs: number,
): boolean {
  if (nowMs - refreshedMs >= PACK_LOCK_STALE_MS) return true;
  if (
    Deno.build.os === "linux" && owner.pid > 0 && owner.host === hostName() &&
    owner.pidns !== 0 && owner.pidns === pidNamespace() && owner.start !== ""
  ) {
    return processStart(owner.pid) !== owner.start;
  }
  return false;
}

/**
 * Keeps a held lock refreshed every {@linkcode PACK_LOCK_REFRESH_MS}.
 * `refresh` returns false when the lock is no longer ours; then, or when
 * no refresh succeeded for half of {@linkcode PACK_LOCK_STALE_MS}, the
 * returned signal aborts with `lost` (so the lock cannot go stale under a
 * pack that does not know).
 *
 * @param refresh Re-stamps the lock if still ours; false when not ours.
 * @param lost The error to abort with.
 * @returns The signal and a `stop` function.
 */
export function keepRefreshed(
  refresh: () => Promise<boolean>,
  lost: () => Error,
): { signal: AbortSignal; stop: () => void } {
  const ac = new AbortController();
  let lastOk = Date.now();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || ac.signal.aborted) return;
    busy = true;
    try {
      if (await refresh()) lastOk = Date.now();
      else ac.abort(lost());
    } catch {
      if (Date.now() - lastOk >= PACK_LOCK_STALE_MS / 2) ac.abort(lost());
    } finally {
      busy = false;
    }
  }, PACK_LOCK_REFRESH_MS);
  Deno.unrefTimer(timer);
  return { signal: ac.signal, stop: () => clearInterval(timer) };
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
