import assert from "node:assert/strict";
import {
  errorReply,
  loaderOptionsOf,
  parseOpen,
  parseRequest,
} from "../../lib/bridge/protocol.ts";
import { LineQueue } from "../../lib/bridge/lines.ts";

Deno.test("parseOpen / parseRequest accept the protocol and name what is wrong", () => {
  const open = parseOpen(
    '{"op":"open","link":"","options":{"batchSizeSamples":4},"shmPath":"/dev/shm/x"}',
  );
  assert.deepEqual(open.options, { batchSizeSamples: 4 });
  assert.throws(() => parseOpen('{"op":"next"}'), /first line must be/);
  assert.throws(() => parseOpen("nope"), /not JSON: nope/);
  assert.equal(parseRequest('{"op":"stats"}').op, "stats");
  assert.throws(() => parseRequest('{"op":"jump"}'), /unknown request .*jump/);
});

Deno.test("parseOpen takes a mix request and refuses a malformed one", () => {
  const open = parseOpen(JSON.stringify({
    op: "open",
    link: "",
    options: {},
    shmPath: "/dev/shm/x",
    mix: {
      sources: [{ name: "web", link: "/d", options: { batchSizeSamples: 4 } }],
      named: true,
      options: { weights: { web: 1 }, seed: "7" },
    },
  }));
  assert.equal(open.mix?.sources[0].link, "/d");
  for (
    const mix of [
      { sources: [], named: true, options: {} },
      {
        sources: [{ name: "a", link: 1, options: {} }],
        named: true,
        options: {},
      },
      { sources: [{ name: "a", link: "/d", options: {} }], options: {} },
    ]
  ) {
    assert.throws(
      () =>
        parseOpen(JSON.stringify({
          op: "open",
          link: "",
          options: {},
          shmPath: "/dev/shm/x",
          mix,
        })),
      /first line must be .*"mix"/,
    );
  }
});

Deno.test("loaderOptionsOf reads a decimal-string seed as a bigint", () => {
  assert.equal(
    loaderOptionsOf({ seed: "18446744073709551615" }).seed,
    18446744073709551615n,
  );
  assert.equal(loaderOptionsOf({ seed: 3 }).seed, 3);
  assert.throws(
    () => loaderOptionsOf({ seed: "x" }),
    /seed must be an integer, got "x"/,
  );
});

Deno.test("errorReply: option errors are ValueError, others keep their class name", () => {
  assert.deepEqual(errorReply(new RangeError("bad"), true), {
    t: "error",
    error: "ValueError",
    message: "bad",
  });
  const e = new Error("gone");
  e.name = "DecodeError";
  assert.equal(errorReply(e, false).error, "DecodeError");
  assert.equal(errorReply(new TypeError("x"), false).error, "TypeError");
});

Deno.test("LineQueue: lines split across chunks, end of input seen once", async () => {
  let ends = 0;
  const enc = new TextEncoder();
  const q = new LineQueue(
    ReadableStream.from([enc.encode('{"a"'), enc.encode(':1}\n{"b":2}\n')]),
    () => ends++,
  );
  assert.equal(await q.next(), '{"a":1}');
  assert.equal(await q.next(), '{"b":2}');
  assert.equal(await q.next(), null);
  assert.equal(ends, 1);
  assert.equal(q.ended, true);
});
