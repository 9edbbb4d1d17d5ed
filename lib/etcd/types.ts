/**
 * Decoded shapes of etcd v3 requests and answers, as the MX8 client exposes
 * them: keys and values are UTF-8 strings, revisions numbers, lease ids
 * decimal strings (full int64).
 *
 * @module
 */

/** One key-value pair as stored in etcd. */
export interface KeyValue {
  /** The key. */
  key: string;
  /** The value ("" when empty). */
  value: string;
  /** Revision that created the key (its election rank / fencing token). */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
  /** Number of writes since creation. */
  version: number;
  /** Lease the key is bound to, "0" when none. */
  lease: string;
}

/** Options of a range read. */
export interface RangeOptions {
  /** Read every key starting with `key` (prefix scan). */
  prefix?: boolean;
  /** Most keys to return (0: all). */
  limit?: number;
  /** Sort order (default: by key, ascending). */
  sort?: {
    target: "key" | "create" | "mod" | "version";
    order: "asc" | "desc";
  };
  /** Only keys whose create revision is at most this. */
  maxCreateRevision?: number;
  /** Read at this revision (0: latest). */
  revision?: number;
}

/** Result of a range read. */
export interface RangeResult {
  /** Store revision when the read was served. */
  revision: number;
  /** The keys found. */
  kvs: KeyValue[];
  /** Total keys in the range (may exceed `kvs.length` with a limit). */
  count: number;
  /** Whether more keys were left out by the limit. */
  more: boolean;
}

/** A condition of a transaction. */
export interface Compare {
  /** Key compared. */
  key: string;
  /** What of the key: its create/mod revision, version, value or lease. */
  target: "create" | "mod" | "version" | "value" | "lease";
  /** Comparison. */
  op: "=" | "!=" | ">" | "<";
  /** Right-hand side: a revision/version number, a value string or a lease id. */
  value: number | string;
}

/** An operation inside a transaction. */
export type Op =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string } & RangeOptions };

/** What one operation of a transaction answered. */
export type OpResult =
  | { put: { revision: number } }
  | { delete: { deleted: number } }
  | { range: RangeResult };

/** Result of a transaction. */
export interface TxnResult {
  /** Whether every compare held (the success branch ran). */
  succeeded: boolean;
  /** Store revision after the transaction. */
  revision: number;
  /** Answers of the branch that ran, in order. */
  results: OpResult[];
}

/** One change seen by a watch. */
export interface WatchEvent {
  /** Put or delete. */
  type: "put" | "delete";
  /** The key after the change (for a delete: key and mod revision only). */
  kv: KeyValue;
}
