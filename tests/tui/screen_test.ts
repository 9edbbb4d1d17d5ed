import assert from "node:assert/strict";
import { runFullScreen } from "../../lib/tui/app.ts";
import { Screen, type Terminal } from "../../lib/tui/screen.ts";
import {
  chunks,
  fakeClient,
  FakeJob,
  manifestText,
} from "./_fake_coordinator.ts";

/** A terminal that records what is written. */
function fakeTerminal(
  size = { columns: 100, rows: 30 },
): Terminal & { text(): string; raw: boolean[] } {
  const dec = new TextDecoder();
  let out = "";
  const raw: boolean[] = [];
  return {
    write(bytes) {
      out += dec.decode(bytes);
    },
    size: () => size,
    setRaw(on) {
      raw.push(on);
    },
    text: () => out,
    raw,
  };
}

/** Key bytes the test pushes when it wants. */
function keyboard() {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
  });
  return {
    stream,
    press: (s: string) => ctl.enqueue(new TextEncoder().encode(s)),
    end: () => ctl.close(),
  };
}

async function until(cond: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("screen: enters the alternate screen, redraws only changed lines, restores once", () => {
  const term = fakeTerminal();
  const screen = new Screen(term);
  assert.deepEqual(term.raw, [true]);
  assert.ok(term.text().startsWith("\x1b[?1049h\x1b[?25l\x1b[?7l"));
  const before = term.text().length;
  screen.draw(["aaa", "bbb", "ccc"]);
  const first = term.text().slice(before);
  assert.ok(first.includes("\x1b[1;1Haaa\x1b[2;1Hbbb\x1b[3;1Hccc"));
  assert.ok(!first.includes("\x1b[2J"), "never clears the screen");
  const mid = term.text().length;
  screen.draw(["aaa", "BBB", "ccc"]);
  assert.equal(
    term.text().slice(mid),
    "\x1b[?2026h\x1b[2;1HBBB\x1b[?2026l",
  );
  const same = term.text().length;
  screen.draw(["aaa", "BBB", "ccc"]);
  assert.equal(term.text().length, same, "an identical frame writes nothing");
  screen.invalidate();
  screen.draw(["aaa", "BBB", "ccc"]);
  assert.ok(term.text().slice(same).includes("\x1b[1;1Haaa"));
  screen.restore();
  screen[Symbol.dispose]();
  assert.ok(term.text().endsWith("\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l"));
  assert.equal(term.text().split("\x1b[?1049l").length, 2, "left once");
  assert.deepEqual(term.raw, [true, false]);
  const after = term.text().length;
  screen.draw(["zzz"]);
  assert.equal(term.text().length, after, "no drawing after restore");
});

Deno.test("full screen: shows the job, filters with /, quits on q and restores the terminal", async () => {
  const job = new FakeJob();
  const term = fakeTerminal({ columns: 120, rows: 40 });
  const keys = keyboard();
  const done = runFullScreen({
    client: fakeClient({
      snapshot: () => job.snapshot(),
      manifest: () => chunks(manifestText(40)),
    }),
    coordUrl: "http://fake",
    jobId: "job-1",
    pollMs: 20,
    health: { staleHeartbeatMs: 5000, leaseStallMs: 10000 },
    color: false,
    terminal: term,
    input: keys.stream,
    signals: false,
  });
  await until(() => /node-a +0 +40 +ok/.test(term.text()), "the node row");
  await until(() => term.text().includes("40 rows"), "the manifest");
  keys.press("/dog/0013");
  await until(
    () => term.text().includes('filter "dog/0013": 1 match'),
    "filter",
  );
  keys.press("\r");
  keys.press("q");
  assert.equal(await done, 0);
  assert.ok(term.text().endsWith("\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l"));
  assert.deepEqual(term.raw, [true, false]);
});

Deno.test("full screen: end of input quits; an internal error still restores the terminal", async () => {
  const job = new FakeJob();
  const term = fakeTerminal();
  const keys = keyboard();
  keys.end();
  assert.equal(
    await runFullScreen({
      client: fakeClient({ snapshot: () => job.snapshot() }),
      coordUrl: "http://fake",
      jobId: "job-1",
      pollMs: 20,
      health: { staleHeartbeatMs: 5000, leaseStallMs: 10000 },
      terminal: term,
      input: keys.stream,
      signals: false,
    }),
    0,
  );
  assert.deepEqual(term.raw, [true, false]);

  const broken = fakeTerminal();
  let calls = 0;
  broken.size = () => {
    if (++calls > 2) throw new RangeError("console size failed");
    return { columns: 80, rows: 24 };
  };
  await assert.rejects(
    runFullScreen({
      client: fakeClient({ snapshot: () => job.snapshot() }),
      coordUrl: "http://fake",
      jobId: "job-1",
      pollMs: 20,
      health: { staleHeartbeatMs: 5000, leaseStallMs: 10000 },
      terminal: broken,
      input: keyboard().stream,
      signals: false,
    }),
    /console size failed/,
  );
  assert.ok(broken.text().endsWith("\x1b[?1049l"));
  assert.deepEqual(broken.raw, [true, false]);
});
