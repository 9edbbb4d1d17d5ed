/**
 * Stable default node ids: `<hostname>-<k>`, where `k` is the lowest slot
 * of this job that no live process on this host holds. A slot is an
 * exclusive `flock` on `<state dir>/node-slots/<job key>/<k>.lock`; the
 * kernel drops it when its process exits, even by `kill -9`, so an agent
 * re-run after a crash gets its old id back and rejoins its rank, while two
 * agents of one job on one host get distinct ids.
 *
 * @module
 */
import { hostname, tmpdir } from "node:os";
import { createHash } from "node:crypto";

/** Slots tried per job and host before giving up. */
const MAX_SLOTS = 1024;

/** A claimed node id; the slot is held until {@linkcode NodeIdClaim.release} or exit. */
export interface NodeIdClaim {
  /** The id, `<hostname>-<k>`. */
  readonly nodeId: string;
  /** Where the slot lock lives, or `""` when no slot could be taken (fallback id). */
  readonly lockPath: string;
  /** Why the fallback `<hostname>-<pid>` is used (empty when a slot was taken). */
  readonly fallbackReason: string;
  /** Gives the slot back. Idempotent. */
  release(): void;
}

/** Options of {@linkcode claimNodeId}. */
export interface ClaimNodeIdOptions {
  /** Directory of the slot locks (default: `$MX8_STATE_DIR`, else `<tmpdir>/mx8-<uid>`). */
  stateDir?: string;
  /** Host name (default: `os.hostname()`). */
  host?: string;
}

/**
 * The directory holding slot locks: `$MX8_STATE_DIR` or `<tmpdir>/mx8-<uid>`
 * (local to the host, like the locks it holds).
 *
 * @returns The directory path.
 */
export function defaultStateDir(): string {
  const env = Deno.env.get("MX8_STATE_DIR");
  if (env) return env;
  return `${tmpdir()}/mx8-${Deno.uid() ?? "user"}`;
}

/**
 * Claims the lowest free node-id slot of `jobId` on this host.
 *
 * @param jobId The job id (slots are per job).
 * @param options State directory and host name.
 * @returns The claim; never throws: when no slot can be taken (unwritable
 *   directory, all slots held) the id falls back to `<hostname>-<pid>` and
 *   `fallbackReason` says why.
 *
 * @example Two claims of one job get distinct ids; a released slot is reused
 * ```ts
 * import assert from "node:assert/strict";
 * import { claimNodeId } from "./node_id.ts";
 *
 * const stateDir = Deno.makeTempDirSync();
 * const a = claimNodeId("job", { stateDir, host: "vm" });
 * const b = claimNodeId("job", { stateDir, host: "vm" });
 * assert.deepEqual([a.nodeId, b.nodeId], ["vm-0", "vm-1"]);
 * a.release();
 * const c = claimNodeId("job", { stateDir, host: "vm" });
 * assert.equal(c.nodeId, "vm-0");
 * b.release();
 * c.release();
 * Deno.removeSync(stateDir, { recursive: true });
 * ```
 */
export function claimNodeId(
  jobId: string,
  options: ClaimNodeIdOptions = {},
): NodeIdClaim {
  const host = options.host ?? hostname();
  const key = createHash("sha256").update(jobId).digest("hex").slice(0, 16);
  const dir = `${options.stateDir ?? defaultStateDir()}/node-slots/${key}`;
  const fallback = (reason: string): NodeIdClaim => ({
    nodeId: `${host}-${Deno.pid}`,
    lockPath: "",
    fallbackReason: reason,
    release() {},
  });
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return fallback(`cannot create ${dir}: ${(err as Error).message}`);
  }
  for (let k = 0; k < MAX_SLOTS; k++) {
    const path = `${dir}/${k}.lock`;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, create: true });
    } catch (err) {
      return fallback(`cannot open ${path}: ${(err as Error).message}`);
    }
    let locked = false;
    try {
      locked = file.tryLockSync(true);
    } catch {
      locked = false;
    }
    if (!locked) {
      file.close();
      continue;
    }
    let open = true;
    return {
      nodeId: `${host}-${k}`,
      lockPath: path,
      fallbackReason: "",
      release() {
        if (!open) return;
        open = false;
        file.close();
      },
    };
  }
  return fallback(`all ${MAX_SLOTS} node-id slots in ${dir} are held`);
}
