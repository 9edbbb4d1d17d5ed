/**
 * Pure translation between the client's types and the gateway's JSON.
 *
 * @module
 */
import { decodeText, encodeText, prefixEnd, readId, readInt } from "./codec.ts";
import type {
  Compare,
  KeyValue,
  Op,
  OpResult,
  RangeOptions,
  RangeResult,
  TxnResult,
} from "./types.ts";

/** A JSON object from the gateway. */
export type Json = Record<string, unknown>;

const TARGETS = {
  create: ["CREATE", "create_revision"],
  mod: ["MOD", "mod_revision"],
  version: ["VERSION", "version"],
  value: ["VALUE", "value"],
  lease: ["LEASE", "lease"],
} as const;

const RESULTS = {
  "=": "EQUAL",
  "!=": "NOT_EQUAL",
  ">": "GREATER",
  "<": "LESS",
} as const;

const SORT_TARGETS = {
  key: "KEY",
  create: "CREATE",
  mod: "MOD",
  version: "VERSION",
} as const;

/** Encodes a compare. */
export function encodeCompare(c: Compare): Json {
  const [target, field] = TARGETS[c.target];
  const value = c.target === "value"
    ? encodeText(String(c.value))
    : String(c.value);
  return {
    key: encodeText(c.key),
    target,
    result: RESULTS[c.op],
    [field]: value,
  };
}

/** Encodes a RangeRequest. */
export function encodeRange(key: string, o: RangeOptions): Json {
  return {
    key: encodeText(key),
    range_end: o.prefix ? prefixEnd(key) : undefined,
    limit: o.limit ? String(o.limit) : undefined,
    revision: o.revision ? String(o.revision) : undefined,
    sort_target: o.sort ? SORT_TARGETS[o.sort.target] : undefined,
    sort_order: o.sort
      ? (o.sort.order === "asc" ? "ASCEND" : "DESCEND")
      : undefined,
    max_create_revision: o.maxCreateRevision
      ? String(o.maxCreateRevision)
      : undefined,
  };
}

/** Encodes one txn operation (a RequestOp). */
export function encodeOp(op: Op): Json {
  if ("put" in op) {
    return {
      request_put: {
        key: encodeText(op.put.key),
        value: encodeText(op.put.value),
        lease: op.put.lease,
      },
    };
  }
  if ("delete" in op) {
    return {
      request_delete_range: {
        key: encodeText(op.delete.key),
        range_end: op.delete.prefix ? prefixEnd(op.delete.key) : undefined,
      },
    };
  }
  return { request_range: encodeRange(op.range.key, op.range) };
}

/** Decodes a KeyValue. */
export function decodeKv(kv: Json): KeyValue {
  return {
    key: decodeText(kv.key as string | undefined),
    value: decodeText(kv.value as string | undefined),
    createRevision: readInt(kv.create_revision, "create_revision"),
    modRevision: readInt(kv.mod_revision, "mod_revision"),
    version: readInt(kv.version, "version"),
    lease: readId(kv.lease),
  };
}

/** Decodes a RangeResponse. */
export function readRange(body: Json): RangeResult {
  return {
    revision: readInt((body.header as Json | undefined)?.revision, "revision"),
    kvs: ((body.kvs ?? []) as Json[]).map(decodeKv),
    count: readInt(body.count, "count"),
    more: body.more === true,
  };
}

/** Decodes a TxnResponse (a failed txn has no `succeeded` field). */
export function readTxn(body: Json): TxnResult {
  const results = ((body.responses ?? []) as Json[]).map((r): OpResult => {
    if (r.response_put !== undefined) {
      const put = r.response_put as Json;
      return {
        put: { revision: readInt((put.header as Json)?.revision, "revision") },
      };
    }
    if (r.response_delete_range !== undefined) {
      const del = r.response_delete_range as Json;
      return { delete: { deleted: readInt(del.deleted, "deleted") } };
    }
    return { range: readRange((r.response_range ?? {}) as Json) };
  });
  return {
    succeeded: body.succeeded === true,
    revision: readInt((body.header as Json | undefined)?.revision, "revision"),
    results,
  };
}
