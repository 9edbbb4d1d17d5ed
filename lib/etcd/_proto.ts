/**
 * Pure translation between the client's txn types and etcd's protobuf
 * messages (`etcdserverpb.TxnRequest` / `TxnResponse`, etcd 3.4+ field
 * numbers), for txns sent over gRPC instead of the JSON gateway.
 *
 * @module
 */
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import type {
  Compare,
  KeyValue,
  Op,
  OpResult,
  RangeOptions,
  RangeResult,
  TxnResult,
} from "./types.ts";

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** `Compare.CompareTarget` and the field of the compared value. */
const TARGETS = {
  version: [0, 4],
  create: [1, 5],
  mod: [2, 6],
  value: [3, 7],
  lease: [4, 8],
} as const;

/** `Compare.CompareResult`. */
const RESULTS = { "=": 0, ">": 1, "<": 2, "!=": 3 } as const;

/** `RangeRequest.SortTarget`. */
const SORT_TARGETS = { key: 0, version: 1, create: 2, mod: 3 } as const;

/** Field tag: number and wire type (0 varint, 2 length-delimited). */
const tag = (field: number, wire: 0 | 2) => (field << 3) | wire;

/** The first key after every key starting with `prefix` (etcd's range_end). */
function prefixEndBytes(prefix: string): Uint8Array {
  const end = ENCODER.encode(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]); // all 0xff: to the end of the keyspace
}

function writeRange(w: BinaryWriter, key: string, o: RangeOptions): void {
  w.uint32(tag(1, 2)).bytes(ENCODER.encode(key));
  if (o.prefix) w.uint32(tag(2, 2)).bytes(prefixEndBytes(key));
  if (o.limit) w.uint32(tag(3, 0)).int64(o.limit);
  if (o.revision) w.uint32(tag(4, 0)).int64(o.revision);
  if (o.sort) {
    w.uint32(tag(5, 0)).int32(o.sort.order === "asc" ? 1 : 2);
    w.uint32(tag(6, 0)).int32(SORT_TARGETS[o.sort.target]);
  }
  if (o.maxCreateRevision) {
    w.uint32(tag(13, 0)).int64(o.maxCreateRevision);
  }
}

function writeCompare(w: BinaryWriter, c: Compare): void {
  const [target, field] = TARGETS[c.target];
  w.uint32(tag(1, 0)).int32(RESULTS[c.op]);
  w.uint32(tag(2, 0)).int32(target);
  w.uint32(tag(3, 2)).bytes(ENCODER.encode(c.key));
  // Always written, 0 included: the oneof says which value is compared.
  if (c.target === "value") {
    w.uint32(tag(field, 2)).bytes(ENCODER.encode(String(c.value)));
  } else {
    w.uint32(tag(field, 0)).int64(c.value);
  }
}

function writeOp(w: BinaryWriter, op: Op): void {
  if ("put" in op) {
    w.uint32(tag(2, 2)).fork();
    w.uint32(tag(1, 2)).bytes(ENCODER.encode(op.put.key));
    w.uint32(tag(2, 2)).bytes(ENCODER.encode(op.put.value));
    if (op.put.lease !== undefined && op.put.lease !== "0") {
      w.uint32(tag(3, 0)).int64(op.put.lease);
    }
    w.join();
  } else if ("delete" in op) {
    w.uint32(tag(3, 2)).fork();
    w.uint32(tag(1, 2)).bytes(ENCODER.encode(op.delete.key));
    if (op.delete.prefix) {
      w.uint32(tag(2, 2)).bytes(prefixEndBytes(op.delete.key));
    }
    w.join();
  } else {
    w.uint32(tag(1, 2)).fork();
    writeRange(w, op.range.key, op.range);
    w.join();
  }
}

/**
 * Encodes a `TxnRequest`.
 *
 * @param compares Conditions.
 * @param success Ops when all hold.
 * @param failure Ops otherwise.
 * @returns The message bytes (without gRPC framing).
 */
export function encodeTxnRequest(
  compares: readonly Compare[],
  success: readonly Op[],
  failure: readonly Op[],
): Uint8Array {
  const w = new BinaryWriter();
  for (const c of compares) {
    w.uint32(tag(1, 2)).fork();
    writeCompare(w, c);
    w.join();
  }
  for (const [field, ops] of [[2, success], [3, failure]] as const) {
    for (const op of ops) {
      w.uint32(tag(field, 2)).fork();
      writeOp(w, op);
      w.join();
    }
  }
  return w.finish();
}

/** Reads each field of a message: `f(field, wireType, reader)` must consume it. */
function fields(
  bytes: Uint8Array,
  f: (field: number, wire: number, r: BinaryReader) => boolean,
): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (!f(field, wire, r)) r.skip(wire);
  }
}

function readRevision(header: Uint8Array): number {
  let revision = 0;
  fields(header, (field, _w, r) => {
    if (field !== 3) return false;
    revision = Number(r.int64());
    return true;
  });
  return revision;
}

function readKv(bytes: Uint8Array): KeyValue {
  const kv: KeyValue = {
    key: "",
    value: "",
    createRevision: 0,
    modRevision: 0,
    version: 0,
    lease: "0",
  };
  fields(bytes, (field, _w, r) => {
    if (field === 1) kv.key = DECODER.decode(r.bytes());
    else if (field === 2) kv.createRevision = Number(r.int64());
    else if (field === 3) kv.modRevision = Number(r.int64());
    else if (field === 4) kv.version = Number(r.int64());
    else if (field === 5) kv.value = DECODER.decode(r.bytes());
    else if (field === 6) kv.lease = String(r.int64());
    else return false;
    return true;
  });
  return kv;
}

function readRangeResponse(bytes: Uint8Array): RangeResult {
  const out: RangeResult = { revision: 0, kvs: [], count: 0, more: false };
  fields(bytes, (field, _w, r) => {
    if (field === 1) out.revision = readRevision(r.bytes());
    else if (field === 2) out.kvs.push(readKv(r.bytes()));
    else if (field === 3) out.more = r.bool();
    else if (field === 4) out.count = Number(r.int64());
    else return false;
    return true;
  });
  return out;
}

function readResponseOp(bytes: Uint8Array): OpResult {
  let result: OpResult | undefined;
  fields(bytes, (field, _w, r) => {
    if (field === 1) {
      result = { range: readRangeResponse(r.bytes()) };
    } else if (field === 2) {
      let revision = 0;
      fields(r.bytes(), (f, _w2, r2) => {
        if (f !== 1) return false;
        revision = readRevision(r2.bytes());
        return true;
      });
      result = { put: { revision } };
    } else if (field === 3) {
      let deleted = 0;
      fields(r.bytes(), (f, _w2, r2) => {
        if (f !== 2) return false;
        deleted = Number(r2.int64());
        return true;
      });
      result = { delete: { deleted } };
    } else return false;
    return true;
  });
  // A range answer with nothing found encodes as an empty message.
  return result ?? { range: { revision: 0, kvs: [], count: 0, more: false } };
}

/**
 * Decodes a `TxnResponse`.
 *
 * @param bytes The message bytes (without gRPC framing).
 * @returns Which branch ran, the store revision and the branch's answers.
 */
export function decodeTxnResponse(bytes: Uint8Array): TxnResult {
  const out: TxnResult = { succeeded: false, revision: 0, results: [] };
  fields(bytes, (field, _w, r) => {
    if (field === 1) out.revision = readRevision(r.bytes());
    else if (field === 2) out.succeeded = r.bool();
    else if (field === 3) out.results.push(readResponseOp(r.bytes()));
    else return false;
    return true;
  });
  return out;
}
