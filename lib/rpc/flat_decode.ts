/**
 * A lean binary decoder for the agents' per-call request messages (proto3:
 * singular string, bool, 32/64-bit integer, double and message fields, and
 * repeated message fields): the same message `fromBinary` makes,
 * without its per-field reflection, per-tag arrays and incremental object
 * building — the coordinator decodes one of these for every RPC. Anything
 * it does not handle exactly (unknown fields, non-ASCII strings, repeated
 * or merged fields, other wire types, malformed input) goes to
 * `fromBinary`, which gives the answer or the error it always gave.
 * Short ASCII strings (job, node and lease ids, which recur in every call)
 * come from a bounded cache keyed by a hash of their bytes and checked
 * character by character, so a recurring id is neither rebuilt nor
 * allocated again.
 *
 * @module
 */
import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageShape,
  ScalarType,
} from "@bufbuild/protobuf";

/** `FeatureSet.FieldPresence.IMPLICIT`: a proto3 scalar without `optional`. */
const IMPLICIT = 2;

type Kind =
  | "string"
  | "bool"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "double";

interface Plan {
  /** The zero message. */
  zero: Record<string, unknown>;
  /**
   * A copy of `zero`, as an object literal of its fields (one shape per
   * message type; `{ ...zero }` in a decoder shared by every type goes
   * through V8's generic, ≈2 µs clone).
   */
  copy: (zero: Record<string, unknown>) => Record<string, unknown>;
  /** Repeated fields: each decoded message gets arrays of its own. */
  lists: string[];
  /** By field number. */
  fields: (Field | undefined)[];
}

interface Field {
  name: string;
  kind: Kind | "message" | "messages";
  sub?: Plan;
}

// Doubles are read through these (little-endian hosts only).
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const SCALARS: Partial<Record<ScalarType, Kind>> = {
  [ScalarType.STRING]: "string",
  [ScalarType.BOOL]: "bool",
  [ScalarType.INT32]: "int32",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT64]: "uint64",
  ...(LITTLE_ENDIAN ? { [ScalarType.DOUBLE]: "double" as const } : {}),
};

/** Field numbers above this are left to `fromBinary` (a dense table). */
const MAX_FIELD = 64;

function plan(desc: DescMessage, depth: number): Plan | undefined {
  if (depth > 4) return undefined;
  const zero = create(desc) as unknown as Record<string, unknown>;
  if (Object.getPrototypeOf(zero) !== Object.prototype) return undefined;
  const fields: (Field | undefined)[] = [];
  const lists: string[] = [];
  for (const f of desc.fields as readonly DescField[]) {
    if (f.number > MAX_FIELD || f.oneof !== undefined) return undefined;
    if (f.fieldKind === "scalar") {
      const kind = SCALARS[f.scalar];
      if (kind === undefined || f.longAsString) return undefined;
      if ((f.presence as number) !== IMPLICIT) return undefined;
      fields[f.number] = { name: f.localName, kind };
    } else if (f.fieldKind === "message") {
      const sub = plan(f.message, depth + 1);
      if (sub === undefined || f.delimitedEncoding) return undefined;
      fields[f.number] = { name: f.localName, kind: "message", sub };
    } else if (f.fieldKind === "list" && f.listKind === "message") {
      const sub = plan(f.message, depth + 1);
      if (sub === undefined || f.delimitedEncoding) return undefined;
      fields[f.number] = { name: f.localName, kind: "messages", sub };
      lists.push(f.localName);
    } else {
      return undefined;
    }
  }
  return { zero, lists, fields, copy: copier(zero) };
}

/**
 * A function that copies a zero message as an object literal of its own
 * keys (the schema's field names, quoted), so each message type gets one
 * shape and V8 builds it inline; `{ ...zero }` when the message has keys a
 * literal cannot copy the same way (symbols, non-enumerable properties).
 */
function copier(
  zero: Record<string, unknown>,
): (zero: Record<string, unknown>) => Record<string, unknown> {
  const keys = Object.keys(zero);
  if (
    Object.getOwnPropertySymbols(zero).length > 0 ||
    Object.getOwnPropertyNames(zero).length !== keys.length
  ) {
    return (z) => ({ ...z });
  }
  const fields = keys.map((k) =>
    `${JSON.stringify(k)}: z[${JSON.stringify(k)}]`
  );
  return new Function("z", `return { ${fields.join(", ")} };`) as (
    z: Record<string, unknown>,
  ) => Record<string, unknown>;
}

// The last varint read: low and high 32 bits.
let lo = 0;
let hi = 0;

/** Reads a varint at `pos`; the new position, or -1 when malformed. */
function varint(buf: Uint8Array, pos: number, end: number): number {
  let l = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) return -1;
    b = buf[pos++];
    l |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lo = l >>> 0;
      hi = 0;
      return pos;
    }
  }
  if (pos >= end) return -1;
  b = buf[pos++];
  l |= (b & 0x0f) << 28;
  let h = (b & 0x7f) >> 4;
  if (b < 0x80) {
    lo = l >>> 0;
    hi = h;
    return pos;
  }
  for (let shift = 3; shift <= 31; shift += 7) {
    if (pos >= end) return -1;
    b = buf[pos++];
    h |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lo = l >>> 0;
      hi = h >>> 0;
      return pos;
    }
  }
  return -1;
}

function u64(): bigint {
  if (hi === 0) return BigInt(lo);
  if (hi < 0x200000) return BigInt(hi * 4294967296 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Strings up to this many bytes are looked up in {@linkcode strings}. */
const INTERN_MAX_BYTES = 64;
/** Entries before {@linkcode strings} starts over. */
const INTERN_MAX_ENTRIES = 8192;
/**
 * Short strings decoded before, by a hash of their bytes: the job id, node
 * ids and lease ids recur in every call, and a string found here is not
 * built (nor allocated) again. Bounded: cleared when full.
 */
const strings = new Map<number, string>();

/**
 * The key of `buf[pos, stop)` in the decoder's string cache: FNV-1a over the
 * bytes with the length mixed in (unsigned 32-bit), or -1 when a byte is
 * not ASCII. Different strings may share a key; the cache compares the
 * characters before it reuses a string.
 *
 * @param buf Bytes.
 * @param pos First byte.
 * @param stop One past the last byte.
 * @returns The key, or -1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asciiHash } from "./flat_decode.ts";
 *
 * const bytes = new TextEncoder().encode("node-1");
 * assert.equal(asciiHash(bytes, 0, 6), asciiHash(bytes.slice(), 0, 6));
 * assert.equal(asciiHash(new Uint8Array([0xc3, 0xa9]), 0, 2), -1);
 * ```
 */
export function asciiHash(buf: Uint8Array, pos: number, stop: number): number {
  let h = 0x811c9dc5 ^ (stop - pos);
  for (let i = pos; i < stop; i++) {
    const b = buf[i];
    if (b > 0x7f) return -1;
    h = Math.imul(h ^ b, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The ASCII string of `buf[pos, stop)`; undefined when a byte is not ASCII
 * (`fromBinary` decodes those).
 */
function ascii(buf: Uint8Array, pos: number, stop: number): string | undefined {
  const n = stop - pos;
  if (n === 0) return "";
  if (n > INTERN_MAX_BYTES) {
    for (let i = pos; i < stop; i++) if (buf[i] > 0x7f) return undefined;
    return String.fromCharCode.apply(
      null,
      buf.subarray(pos, stop) as unknown as number[],
    );
  }
  const h = asciiHash(buf, pos, stop);
  if (h < 0) return undefined;
  const hit = strings.get(h);
  if (hit !== undefined && hit.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (hit.charCodeAt(i) !== buf[pos + i]) {
        same = false;
        break;
      }
    }
    if (same) return hit;
  }
  let s = "";
  for (let i = pos; i < stop; i++) s += String.fromCharCode(buf[i]);
  if (strings.size >= INTERN_MAX_ENTRIES) strings.clear();
  strings.set(h, s);
  return s;
}

/** Decodes `[pos, end)` into a new message; undefined = not handled here. */
function decode(
  p: Plan,
  buf: Uint8Array,
  pos: number,
  end: number,
): Record<string, unknown> | undefined {
  const m = p.copy(p.zero);
  for (let i = 0; i < p.lists.length; i++) m[p.lists[i]] = [];
  while (pos < end) {
    pos = varint(buf, pos, end);
    if (pos < 0 || hi !== 0) return undefined;
    const no = lo >>> 3;
    const wire = lo & 7;
    const f = no <= MAX_FIELD ? p.fields[no] : undefined;
    if (f === undefined) return undefined;
    if (f.kind === "double") {
      if (wire !== 1 || end - pos < 8) return undefined;
      for (let i = 0; i < 8; i++) f64Bytes[i] = buf[pos + i];
      m[f.name] = f64[0];
      pos += 8;
      continue;
    }
    if (f.kind === "string" || f.kind === "message" || f.kind === "messages") {
      if (wire !== 2) return undefined;
      pos = varint(buf, pos, end);
      if (pos < 0 || hi !== 0 || lo > end - pos) return undefined;
      const stop = pos + lo;
      if (f.kind === "message") {
        if (m[f.name] !== undefined) return undefined; // merge: fromBinary
        const sub = decode(f.sub!, buf, pos, stop);
        if (sub === undefined) return undefined;
        m[f.name] = sub;
      } else if (f.kind === "messages") {
        const sub = decode(f.sub!, buf, pos, stop);
        if (sub === undefined) return undefined;
        (m[f.name] as unknown[]).push(sub);
      } else {
        const s = ascii(buf, pos, stop);
        if (s === undefined) return undefined;
        m[f.name] = s;
      }
      pos = stop;
      continue;
    }
    if (wire !== 0) return undefined;
    pos = varint(buf, pos, end);
    if (pos < 0) return undefined;
    switch (f.kind) {
      case "bool":
        m[f.name] = lo !== 0 || hi !== 0;
        break;
      case "int32":
        m[f.name] = lo | 0;
        break;
      case "uint32":
        m[f.name] = lo;
        break;
      case "uint64":
        m[f.name] = u64();
        break;
      case "int64":
        m[f.name] = hi >= 0x80000000 ? BigInt.asIntN(64, u64()) : u64();
        break;
    }
  }
  return pos === end ? m : undefined;
}

/**
 * Whether {@linkcode flatDecoder} decodes `desc` itself (its fields are all
 * of the kinds it handles) rather than handing every input to `fromBinary`.
 *
 * @param desc The message type.
 * @returns True when it does.
 */
export function decodesFlat(desc: DescMessage): boolean {
  return plan(desc, 0) !== undefined;
}

/**
 * A decoder for `desc` that gives what `fromBinary(desc, bytes)` gives (the
 * message, or the error it throws), faster for the messages it handles.
 * Messages with fields it does not handle get `fromBinary` itself.
 *
 * @param desc The message type.
 * @returns The decoder.
 *
 * @example Decode a heartbeat
 * ```ts
 * import assert from "node:assert/strict";
 * import { create, toBinary } from "@bufbuild/protobuf";
 * import { HeartbeatRequestSchema } from "../gen/mx8/v1/coordinator_pb.ts";
 * import { flatDecoder } from "./flat_decode.ts";
 *
 * const bytes = toBinary(HeartbeatRequestSchema, create(HeartbeatRequestSchema, {
 *   jobId: "j", nodeId: "a", stats: { inflightBytes: 5n },
 * }));
 * const decode = flatDecoder(HeartbeatRequestSchema);
 * const req = decode(bytes);
 * assert.equal(req.nodeId, "a");
 * assert.equal(req.stats?.inflightBytes, 5n);
 * ```
 */
export function flatDecoder<Desc extends DescMessage>(
  desc: Desc,
): (bytes: Uint8Array) => MessageShape<Desc> {
  const p = plan(desc, 0);
  if (p === undefined) return (bytes) => fromBinary(desc, bytes);
  return (bytes) =>
    (decode(p, bytes, 0, bytes.length) as MessageShape<Desc> | undefined) ??
      fromBinary(desc, bytes);
}
