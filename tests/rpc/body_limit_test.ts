import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BodyBudget,
  limitBody,
  readBodyLimited,
} from "../../lib/rpc/body_limit.ts";

function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

/** A request whose body is `chunks`, then (when `stall`) nothing more, ever. */
function streamed(chunks: number[], stall = false): Request {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller): Promise<void> | void {
      if (i < chunks.length) controller.enqueue(new Uint8Array(chunks[i++]));
      else if (!stall) controller.close();
      else return new Promise<void>(() => {}); // never more bytes
    },
  });
  return new Request("http://h/", { method: "POST", body });
}

Deno.test("readBodyLimited stops at the size cap while the body streams in", async () => {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024)); // endless
    },
  });
  const request = new Request("http://h/", { method: "POST", body });
  await assert.rejects(
    readBodyLimited(request, { maxBytes: 4096, timeoutMs: 10_000 }),
    (e) =>
      codeOf(e) === Code.ResourceExhausted &&
      /larger than the coordinator accepts \(4096 bytes\)/.test(String(e)),
  );
  assert.ok(pulled <= 6, `${pulled} chunks pulled`);
});

Deno.test("readBodyLimited refuses a declared length above the cap before reading", async () => {
  const request = new Request("http://h/", {
    method: "POST",
    body: new Uint8Array(10),
    headers: { "content-length": "1073741824" },
  });
  await assert.rejects(
    readBodyLimited(request, { maxBytes: 4096, timeoutMs: 10_000 }),
    /request body of 1073741824 bytes is larger/,
  );
  assert.equal(request.bodyUsed, false);
});

Deno.test("readBodyLimited: a stalled body fails with DeadlineExceeded", async () => {
  // The deadline timer does not keep a process alive (a server's listener
  // does); this one does for the test.
  const alive = setTimeout(() => {}, 5000);
  await assert.rejects(
    readBodyLimited(streamed([10], true), { maxBytes: 4096, timeoutMs: 50 }),
    (e) =>
      codeOf(e) === Code.DeadlineExceeded &&
      /did not arrive within 50 ms/.test(String(e)),
  );
  clearTimeout(alive);
});

Deno.test("the budget: bytes beyond the free share are charged while reading and given back after", async () => {
  const budget = new BodyBudget(3000);
  const limits = {
    maxBytes: 10_000,
    timeoutMs: 10_000,
    budget,
    freeBytes: 1000,
  };
  // 1000 free + 2000 charged: fits, and is given back.
  const ok = await readBodyLimited(streamed([1000, 1000, 1000]), limits);
  assert.equal(ok.length, 3000);
  assert.equal(budget.usedBytes, 0);
  // Hold 2500 of the budget: a body needing 2000 charged no longer fits…
  assert.ok(budget.tryTake(2500));
  await assert.rejects(
    readBodyLimited(streamed([1000, 1000, 1000]), limits),
    (e) =>
      codeOf(e) === Code.ResourceExhausted &&
      /already reading 2500 bytes of request bodies \(limit 3000\)/.test(
        String(e),
      ),
  );
  assert.equal(budget.usedBytes, 2500);
  // …but a small body (within the free share) never waits on it.
  assert.equal((await readBodyLimited(streamed([900]), limits)).length, 900);
});

Deno.test("the budget: a declared length is charged up front, so a body that cannot fit is refused unread", async () => {
  const budget = new BodyBudget(3000);
  assert.ok(budget.tryTake(2000));
  const request = new Request("http://h/", {
    method: "POST",
    body: new Uint8Array(5000),
    headers: { "content-length": "5000" },
  });
  await assert.rejects(
    readBodyLimited(request, {
      maxBytes: 10_000,
      timeoutMs: 10_000,
      budget,
      freeBytes: 1000,
    }),
    /already reading 2000 bytes/,
  );
  assert.equal(request.bodyUsed, false);
  assert.equal(budget.usedBytes, 2000);
});

Deno.test("limitBody enforces the same limits on async-iterable bodies and gives the budget back", async () => {
  const budget = new BodyBudget(1 << 20);
  async function* chunks() {
    for (let i = 0; i < 10; i++) yield new Uint8Array(1000);
  }
  let seen = 0;
  await assert.rejects(async () => {
    for await (
      const c of limitBody(
        chunks(),
        { maxBytes: 4500, timeoutMs: 10_000, budget, freeBytes: 0 },
        null,
        () => {},
      )
    ) seen += c.length;
  }, (e) => codeOf(e) === Code.ResourceExhausted);
  assert.equal(seen, 4000);
  assert.equal(budget.usedBytes, 0);
});
