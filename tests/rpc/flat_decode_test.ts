import assert from "node:assert/strict";
import {
  create,
  type DescMessage,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import {
  HeartbeatRequestSchema,
  RegisterNodeRequestSchema,
  RegisterNodeResponseSchema,
  ReportProgressRequestSchema,
  RequestLeaseRequestSchema,
} from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import {
  asciiHash,
  decodesFlat,
  flatDecoder,
} from "../../lib/rpc/flat_decode.ts";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["", "a", "node-0001", "lease-mh3k-17", "ü", "日本", "\u{1F600}"];

function value(r: () => number, kind: string): unknown {
  const pick = r();
  switch (kind) {
    case "string":
      return WORDS[Math.floor(r() * WORDS.length)] +
        (pick < 0.5 ? "x".repeat(Math.floor(r() * 40)) : "");
    case "bool":
      return pick < 0.5;
    case "uint32":
      return pick < 0.3 ? 0 : pick < 0.6 ? Math.floor(r() * 300) : 4294967295;
    case "int32":
      return pick < 0.3 ? -1 : pick < 0.6 ? Math.floor(r() * 300) : -2147483648;
    case "uint64":
      return pick < 0.25
        ? 0n
        : pick < 0.5
        ? BigInt(Math.floor(r() * 1e6))
        : pick < 0.75
        ? BigInt(Number.MAX_SAFE_INTEGER) + BigInt(Math.floor(r() * 1e6))
        : 18446744073709551615n;
    case "double":
      return [0, -0, 0.25, -1e300, NaN, Infinity, r() * 1e6][
        Math.floor(r() * 7)
      ];
    case "int64":
      return pick < 0.25
        ? -1n
        : pick < 0.5
        ? BigInt(Date.now())
        : pick < 0.75
        ? -9223372036854775808n
        : 9223372036854775807n;
  }
  throw new Error(kind);
}

function randomInit(
  desc: DescMessage,
  r: () => number,
): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of desc.fields) {
    if (r() < 0.2) continue;
    if (f.fieldKind === "message") {
      init[f.localName] = randomInit(f.message, r);
    } else if (f.fieldKind === "list" && f.listKind === "message") {
      const desc = f.message;
      init[f.localName] = Array.from(
        { length: Math.floor(r() * 3) },
        () => randomInit(desc, r),
      );
    } else if (f.fieldKind === "scalar") {
      const kind = ({
        9: "string",
        8: "bool",
        5: "int32",
        13: "uint32",
        3: "int64",
        4: "uint64",
        1: "double",
      } as Record<number, string>)[f.scalar];
      init[f.localName] = value(r, kind);
    }
  }
  return init;
}

/** Both decoders agree: the same message, or both throw the same error. */
function same(desc: DescMessage, bytes: Uint8Array): void {
  let want: unknown;
  let wantErr: unknown;
  try {
    want = fromBinary(desc, bytes);
  } catch (e) {
    wantErr = e;
  }
  const decode = flatDecoder(desc);
  if (wantErr !== undefined) {
    assert.throws(() => decode(bytes), (e: Error) => {
      assert.equal(e.message, (wantErr as Error).message);
      return true;
    });
  } else {
    assert.deepStrictEqual(decode(bytes), want);
  }
}

const AGENT_REQUESTS = [
  HeartbeatRequestSchema,
  ReportProgressRequestSchema,
  RequestLeaseRequestSchema,
  RegisterNodeRequestSchema,
];

Deno.test("flatDecoder decodes the four agent requests itself", () => {
  for (const desc of AGENT_REQUESTS) {
    assert.ok(decodesFlat(desc), desc.typeName);
  }
  assert.equal(decodesFlat(RegisterNodeResponseSchema), false);
});

Deno.test("flatDecoder equals fromBinary on random agent requests", () => {
  const r = rng(14);
  for (const desc of AGENT_REQUESTS) {
    for (let i = 0; i < 400; i++) {
      const bytes = toBinary(desc, create(desc, randomInit(desc, r)));
      same(desc, bytes);
    }
  }
});

Deno.test("flatDecoder equals fromBinary on damaged, extended and repeated input", () => {
  const r = rng(4);
  for (const desc of AGENT_REQUESTS) {
    for (let i = 0; i < 300; i++) {
      const good = toBinary(desc, create(desc, randomInit(desc, r)));
      // Truncated anywhere.
      same(desc, good.subarray(0, Math.floor(r() * good.length)));
      // One byte changed.
      if (good.length > 0) {
        const bad = good.slice();
        bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
        same(desc, bad);
      }
      // An unknown field appended (kept in $unknown by fromBinary).
      same(desc, new Uint8Array([...good, 0xf8, 0x0c, 0x07]));
      // The message twice: singular fields last-wins, messages merged.
      same(desc, new Uint8Array([...good, ...good]));
    }
  }
});

Deno.test("flatDecoder of a message it does not handle is fromBinary", () => {
  const desc = RegisterNodeResponseSchema; // repeated strings
  const bytes = toBinary(
    desc,
    create(desc, { manifestHash: "h", classes: ["a", "b"] }),
  );
  assert.deepStrictEqual(flatDecoder(desc)(bytes), fromBinary(desc, bytes));
});

Deno.test("flatDecoder's string cache gives each string its own value: keys that collide, more ids than it holds", () => {
  const enc = new TextEncoder();
  const key = (s: string) => {
    const b = enc.encode(s);
    return asciiHash(b, 0, b.length);
  };
  // Two node ids of equal length with the same cache key (birthday search).
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined; i++) {
    const id = `node-${i.toString(36).padStart(6, "0")}`;
    const other = seen.get(key(id));
    if (other !== undefined) pair = [other, id];
    seen.set(key(id), id);
  }
  assert.notEqual(pair[0], pair[1]);
  assert.equal(key(pair[0]), key(pair[1]));
  const decode = flatDecoder(HeartbeatRequestSchema);
  const beat = (nodeId: string) =>
    toBinary(
      HeartbeatRequestSchema,
      create(HeartbeatRequestSchema, { jobId: "j", nodeId }),
    );
  for (const id of [pair[0], pair[1], pair[0], pair[1]]) {
    assert.equal(decode(beat(id)).nodeId, id);
  }
  // More distinct ids than the cache holds, twice round.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20000; i++) {
      const id = `n${i}`;
      assert.equal(decode(beat(id)).nodeId, id);
    }
  }
});
