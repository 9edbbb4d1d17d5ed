/**
 * The persisted layout of one job's lease state in etcd (spec §12), and the
 * codecs of its records. Everything lives under `/mx8/jobs/<job>/`:
 *
 * - `meta`: the job's configuration and whether the barrier was met;
 * - `leader/<lease>`: election keys (see lib/etcd/election.ts);
 * - `members/<node>`: rank, departed flag and caps of each node;
 * - `ranges/<endId>`: every range that was leased at least once and is not
 *   finished: `{state, owner, lease, start, cursor, epoch}`. A range keeps
 *   its key when requeued (a remainder `[cursor, end)` keeps its end). A
 *   completion writes its range as `done` (the whole `[start, end)` is
 *   completed: durable in one key, without the shared summary chunk); the
 *   next progress flush folds it into `summary/` and deletes it;
 * - `summary/<chunk>`: completed samples, merged, in fixed spans of ids.
 *
 * Unissued rank queues are not stored: they are the deterministic plan of
 * the frozen membership minus stored ranges and completed samples.
 *
 * @module
 */
import { HaStateError } from "../errors.ts";

/** Ranges per summary chunk: a chunk spans `SUMMARY_BLOCKS * blockSize` ids. */
export const SUMMARY_BLOCKS = 16384;

/**
 * Version of the layout written in `meta`. 2 added `done` ranges; a
 * version-1 job (no `done` range) loads unchanged.
 */
export const LAYOUT_VERSION = 2;

/** A half-open range of sample ids. */
export interface IdRange {
  /** First id. */
  startId: number;
  /** One past the last id. */
  endId: number;
}

/** `meta`: the job's configuration as the first leader wrote it. */
export interface MetaRecord {
  /** Layout version ({@linkcode LAYOUT_VERSION}). */
  v: number;
  /** Job id. */
  jobId: string;
  /** Pinned manifest hash. */
  manifestHash: string;
  /** Samples in the job. */
  totalSamples: number;
  /** Samples per block. */
  blockSize: number;
  /** Job seed, decimal. */
  seed: string;
  /** Dataset epoch. */
  epoch: number;
  /** Whether blocks are shuffled. */
  shuffle: boolean;
  /** Ranges completed before the job started (resume), which the plan skips. */
  resumed: IdRange[];
  /** Whether the barrier was met. */
  ready: boolean;
  /** Configured world size before the barrier; frozen member count after. */
  worldSize: number;
  /** Term (fencing token) of the leader that last took the job over. */
  term?: number;
  /** Takeovers by a new leader since the job started (leader changes). */
  failovers?: number;
}

/** `members/<node>`. */
export interface MemberRecord {
  /** Rank, `-1` before the barrier. */
  rank: number;
  /** Silent for a TTL and not re-registered. */
  departed: boolean;
  /** Caps the node declared (JSON). */
  caps: unknown;
  /**
   * The node's last completed leases, oldest first (stored as
   * `[[leaseId, endId], …]`, absent when none): a final report resent to a
   * new leader is answered OK.
   */
  done?: { leaseId: string; endId: number }[];
}

/** `ranges/<endId>`. */
export interface RangeRecord {
  /**
   * Leased to `owner`, waiting in the requeue pool, or `done`: completed
   * (cursor = end), not yet folded into the summary.
   */
  state: "leased" | "pooled" | "done";
  /** Holder, "" when pooled. */
  owner: string;
  /** Lease id, "" when pooled. */
  lease: string;
  /** First id of the lease (or of the pooled remainder). */
  start: number;
  /** One past the last delivered id (batched: may lag; re-delivered). */
  cursor: number;
  /** Range generation, bumped on every requeue; not the dataset epoch. */
  epoch: number;
}

/** Key builders for one job. */
export interface JobKeys {
  /** `/mx8/jobs/<job>/`. */
  prefix: string;
  /** `…/meta`. */
  meta: string;
  /** `…/leader/` (election prefix). */
  leader: string;
  /** `…/members/<node>`. */
  member(nodeId: string): string;
  /** `…/ranges/<endId>` (zero-padded so keys sort by id). */
  range(endId: number): string;
  /** `…/summary/<chunk>`. */
  summary(chunk: number): string;
}

/**
 * Builds the keys of a job.
 *
 * @param jobId Job id (no `/`).
 * @returns Key builders.
 * @throws {RangeError} When the id is empty or contains `/`.
 *
 * @example
 * ```ts
 * import { jobKeys } from "./layout.ts";
 * if (jobKeys("j").range(42) !== "/mx8/jobs/j/ranges/000000000042") throw new Error();
 * ```
 */
export function jobKeys(jobId: string): JobKeys {
  if (jobId === "" || jobId.includes("/")) {
    throw new RangeError(
      `Job id "${jobId}" cannot name an etcd prefix: it must be non-empty without "/"`,
    );
  }
  const prefix = `/mx8/jobs/${jobId}/`;
  return {
    prefix,
    meta: `${prefix}meta`,
    leader: `${prefix}leader/`,
    member: (nodeId) => `${prefix}members/${encodeURIComponent(nodeId)}`,
    range: (endId) => `${prefix}ranges/${String(endId).padStart(12, "0")}`,
    summary: (chunk) => `${prefix}summary/${String(chunk).padStart(8, "0")}`,
  };
}

/** What a key under a job prefix is. */
export type ParsedKey =
  | { kind: "meta" }
  | { kind: "leader" }
  | { kind: "member"; nodeId: string }
  | { kind: "range"; endId: number }
  | { kind: "summary"; chunk: number }
  | { kind: "unknown" };

/**
 * Classifies a key under a job prefix.
 *
 * @param prefix The job prefix (`/mx8/jobs/<job>/`).
 * @param key A key under it.
 * @returns What it is.
 */
export function parseKey(prefix: string, key: string): ParsedKey {
  if (!key.startsWith(prefix)) return { kind: "unknown" };
  const rest = key.slice(prefix.length);
  if (rest === "meta") return { kind: "meta" };
  const slash = rest.indexOf("/");
  const dir = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (dir === "leader") return { kind: "leader" };
  if (dir === "members" && name !== "") {
    return { kind: "member", nodeId: decodeURIComponent(name) };
  }
  if (dir === "ranges" && /^\d{1,15}$/.test(name)) {
    return { kind: "range", endId: Number(name) };
  }
  if (dir === "summary" && /^\d{1,15}$/.test(name)) {
    return { kind: "summary", chunk: Number(name) };
  }
  return { kind: "unknown" };
}

/** JSON with bigints kept (`{"$bigint":"123"}`): node caps are protobuf messages. */
function bigintReplacer(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? { $bigint: v.toString() } : v;
}

function bigintReviver(_key: string, v: unknown): unknown {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (
      keys.length === 1 && typeof o.$bigint === "string" &&
      /^-?\d+$/.test(o.$bigint)
    ) {
      return BigInt(o.$bigint);
    }
  }
  return v;
}

function parseJson(key: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text, bigintReviver);
  } catch {
    throw new HaStateError(
      key,
      `value is not JSON: "${
        text.slice(0, 60)
      }": delete the job's prefix to start the job afresh`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HaStateError(
      key,
      `value is not a JSON object: "${text.slice(0, 60)}"`,
    );
  }
  return value as Record<string, unknown>;
}

function int(
  key: string,
  o: Record<string, unknown>,
  field: string,
  min = 0,
): number {
  const v = o[field];
  if (!Number.isSafeInteger(v) || (v as number) < min) {
    throw new HaStateError(
      key,
      `field "${field}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return v as number;
}

function str(key: string, o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== "string") {
    throw new HaStateError(
      key,
      `field "${field}" must be a string, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function bool(key: string, o: Record<string, unknown>, field: string): boolean {
  const v = o[field];
  if (typeof v !== "boolean") {
    throw new HaStateError(
      key,
      `field "${field}" must be true or false, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Reads `[[start, end], …]` pairs: sorted, non-empty, disjoint.
 *
 * @param key Key, for messages.
 * @param v The JSON value.
 * @param field Field name, for messages.
 * @returns The ranges.
 * @throws {HaStateError} When malformed.
 */
function ranges(key: string, v: unknown, field: string): IdRange[] {
  if (!Array.isArray(v)) {
    throw new HaStateError(
      key,
      `field "${field}" must be an array of [start, end] pairs`,
    );
  }
  let last = -1;
  return v.map((pair) => {
    if (
      !Array.isArray(pair) || pair.length !== 2 ||
      !Number.isSafeInteger(pair[0]) || !Number.isSafeInteger(pair[1]) ||
      pair[0] <= last || pair[1] <= pair[0]
    ) {
      throw new HaStateError(
        key,
        `field "${field}" has a bad or unsorted pair ${JSON.stringify(pair)}`,
      );
    }
    last = pair[1];
    return { startId: pair[0], endId: pair[1] };
  });
}

/** Encodes `meta`. */
export function encodeMeta(m: MetaRecord): string {
  return JSON.stringify({
    ...m,
    resumed: m.resumed.map((r) => [r.startId, r.endId]),
  });
}

/**
 * Decodes `meta`.
 *
 * @param key The key (for messages).
 * @param text The stored value.
 * @returns The record.
 * @throws {HaStateError} When malformed or of another layout version.
 */
export function decodeMeta(key: string, text: string): MetaRecord {
  const o = parseJson(key, text);
  const v = int(key, o, "v", 1);
  if (v < 1 || v > LAYOUT_VERSION) {
    throw new HaStateError(
      key,
      `layout version ${v} is not 1..${LAYOUT_VERSION}: run the same mx8 version on every replica`,
    );
  }
  const seed = str(key, o, "seed");
  if (!/^\d+$/.test(seed)) {
    throw new HaStateError(key, `field "seed" is not decimal: "${seed}"`);
  }
  return {
    v,
    jobId: str(key, o, "jobId"),
    manifestHash: str(key, o, "manifestHash"),
    totalSamples: int(key, o, "totalSamples"),
    blockSize: int(key, o, "blockSize", 1),
    seed,
    epoch: int(key, o, "epoch"),
    shuffle: bool(key, o, "shuffle"),
    resumed: ranges(key, o.resumed, "resumed"),
    ready: bool(key, o, "ready"),
    worldSize: int(key, o, "worldSize", 1),
    ...(o.term === undefined ? {} : { term: int(key, o, "term") }),
    ...(o.failovers === undefined
      ? {}
      : { failovers: int(key, o, "failovers") }),
  };
}

/** Encodes `members/<node>`. */
export function encodeMember(m: MemberRecord): string {
  return JSON.stringify({
    rank: m.rank,
    departed: m.departed,
    caps: m.caps ?? null,
    ...(m.done !== undefined && m.done.length > 0
      ? { done: m.done.map((d) => [d.leaseId, d.endId]) }
      : {}),
  }, bigintReplacer);
}

/**
 * Decodes `members/<node>`.
 *
 * @param key The key.
 * @param text The stored value.
 * @returns The record.
 * @throws {HaStateError} When malformed.
 */
export function decodeMember(key: string, text: string): MemberRecord {
  const o = parseJson(key, text);
  const member: MemberRecord = {
    rank: int(key, o, "rank", -1),
    departed: bool(key, o, "departed"),
    caps: o.caps,
  };
  if (o.done !== undefined) member.done = doneLeases(key, o.done);
  return member;
}

/** Reads a member's `done`: `[[leaseId, endId], …]`. */
function doneLeases(
  key: string,
  v: unknown,
): { leaseId: string; endId: number }[] {
  const bad = () =>
    new HaStateError(
      key,
      `field "done" must be an array of [leaseId, endId] pairs, got ${
        JSON.stringify(v)?.slice(0, 80)
      }`,
    );
  if (!Array.isArray(v)) throw bad();
  return v.map((pair) => {
    if (
      !Array.isArray(pair) || pair.length !== 2 ||
      typeof pair[0] !== "string" || pair[0] === "" ||
      !Number.isSafeInteger(pair[1]) || pair[1] <= 0
    ) {
      throw bad();
    }
    return { leaseId: pair[0], endId: pair[1] };
  });
}

/** Encodes `ranges/<endId>`. */
export function encodeRange(r: RangeRecord): string {
  return JSON.stringify(r);
}

/**
 * Decodes `ranges/<endId>`.
 *
 * @param key The key.
 * @param text The stored value.
 * @param endId The end id from the key.
 * @returns The record.
 * @throws {HaStateError} When malformed (bad state, cursor outside the range).
 */
export function decodeRange(
  key: string,
  text: string,
  endId: number,
): RangeRecord {
  const o = parseJson(key, text);
  const state = o.state;
  if (state !== "leased" && state !== "pooled" && state !== "done") {
    throw new HaStateError(
      key,
      `field "state" must be "leased", "pooled" or "done", got ${
        JSON.stringify(state)
      }`,
    );
  }
  const r: RangeRecord = {
    state,
    owner: str(key, o, "owner"),
    lease: str(key, o, "lease"),
    start: int(key, o, "start"),
    cursor: int(key, o, "cursor"),
    epoch: int(key, o, "epoch"),
  };
  if (!(r.start <= r.cursor && r.cursor <= endId && r.start < endId)) {
    throw new HaStateError(
      key,
      `start ${r.start} ≤ cursor ${r.cursor} ≤ end ${endId} does not hold`,
    );
  }
  if (state !== "pooled" && (r.owner === "" || r.lease === "")) {
    throw new HaStateError(
      key,
      `a ${state} range needs an owner and a lease id`,
    );
  }
  if (state === "done" && r.cursor !== endId) {
    throw new HaStateError(
      key,
      `a done range has its cursor at its end ${endId}, got ${r.cursor}`,
    );
  }
  return r;
}

/** Encodes `summary/<chunk>`: merged completed ranges as pairs. */
export function encodeSummary(completed: readonly IdRange[]): string {
  return JSON.stringify({ done: completed.map((r) => [r.startId, r.endId]) });
}

/**
 * Decodes `summary/<chunk>`.
 *
 * @param key The key.
 * @param text The stored value.
 * @returns The completed ranges it holds.
 * @throws {HaStateError} When malformed.
 */
export function decodeSummary(key: string, text: string): IdRange[] {
  return ranges(key, parseJson(key, text).done, "done");
}
