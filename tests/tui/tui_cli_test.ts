import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { lastLine, runMx8 } from "../_helpers/mx8.ts";
import { tempDir } from "../_helpers/tmp.ts";
import {
  chunks,
  FakeJob,
  manifestText,
  startFakeCoordinator,
} from "./_fake_coordinator.ts";

const OK = "mx8 tui headless OK lease=true runtime=true manifest=true";

Deno.test("mx8 tui --headless-polls: OK line and exit 0 against a live coordinator", async () => {
  const job = new FakeJob();
  await using fake = await startFakeCoordinator({
    snapshot: () => job.snapshot(),
    manifest: () => chunks(manifestText(100)),
  });
  const r = await runMx8([
    "tui",
    "--coord-url",
    fake.url,
    "--job-id",
    "job-1",
    "--headless-polls",
    "3",
    "--poll-ms",
    "100",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 5, r.stdout);
  assert.match(
    lines[0],
    /^poll=1 health=healthy ready=true drained=false nodes=3\/3 active_leases=2 pool=2 completed=1300\/5000 stale=0 max_hb_age_ms=\d+ leases_expired=0 ranges_requeued=0 err=-$/,
  );
  assert.match(lines[2], /^poll=3 /);
  assert.equal(lines[3], "manifest source=stream rows=100 truncated=false");
  assert.equal(lastLine(r.stdout), OK);
  assert.equal(fake.calls.snapshot, 3);
  assert.equal(fake.calls.manifest, 1);
});

Deno.test("mx8 tui --headless-polls: no coordinator is a clear failure naming the panels and the error", async () => {
  // A port that was just free: nothing listens there.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await runMx8([
    "tui",
    "--coord-url",
    `http://127.0.0.1:${port}`,
    "--job-id",
    "job-1",
    "--headless-polls",
    "2",
    "--poll-ms",
    "50",
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /^poll=1 health=unknown .* err="\[unavailable\] .*ECONNREFUSED.*"$/m,
  );
  assert.equal(
    lastLine(r.stdout),
    "mx8 tui headless FAILED lease=false runtime=false manifest=false",
  );
  const err = r.stderr.trim().split("\n");
  assert.equal(err.length, 1, r.stderr);
  assert.match(
    err[0],
    /^mx8 tui: error: no data after 2 poll\(s\) for panel\(s\): lease \(.*\), runtime \(.*\), manifest \(.*\); last error: \[unavailable\] .*ECONNREFUSED/,
  );
});

Deno.test("mx8 tui --manifest-path: the local copy is shown when GetManifestStream fails", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/manifest.tsv`;
  await Deno.writeTextFile(path, manifestText(7));
  const job = new FakeJob();
  await using fake = await startFakeCoordinator({
    snapshot: () => job.snapshot(),
    manifest: () => new ConnectError("manifest not in store", Code.NotFound),
  });
  const args = [
    "tui",
    "--coord-url",
    fake.url,
    "--job-id",
    "job-1",
    "--headless-polls",
    "1",
  ];
  const without = await runMx8(args);
  assert.equal(without.code, 1);
  assert.match(
    without.stderr,
    /manifest \(stream failed: \[not_found\] manifest not in store; no --manifest-path fallback given\)/,
  );
  const r = await runMx8([...args, "--manifest-path", path]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^manifest source=file path=\S+manifest\.tsv rows=7 truncated=false note="--manifest-path fallback, sha256 DIFFERS from the job's manifest_hash \(other snapshot or non-canonical file\); stream failed: \[not_found\] manifest not in store"$/m,
  );
  assert.equal(lastLine(r.stdout), OK);
});

Deno.test("mx8 tui: the bearer token comes from --auth-token-file or MX8_AUTH_TOKEN", async () => {
  await using dir = await tempDir();
  const job = new FakeJob();
  await using fake = await startFakeCoordinator({
    snapshot: () => job.snapshot(),
    manifest: () => chunks(manifestText(3)),
    token: "s3cret",
  });
  const args = [
    "tui",
    "--coord-url",
    fake.url,
    "--job-id",
    "job-1",
    "--headless-polls",
    "1",
  ];
  const none = await runMx8(args);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /err="\[unauthenticated\] bad token"/);
  assert.equal(
    lastLine((await runMx8(args, { MX8_AUTH_TOKEN: "s3cret" })).stdout),
    OK,
  );
  await Deno.writeTextFile(`${dir.path}/token`, "s3cret\n");
  const viaFile = await runMx8([
    ...args,
    "--auth-token-file",
    `${dir.path}/token`,
  ]);
  assert.equal(lastLine(viaFile.stdout), OK, viaFile.stderr);
});

Deno.test("mx8 tui: usage errors exit 2 with one line", async () => {
  const cases: [string[], RegExp][] = [
    [["tui", "--job-id", "j"], /missing --coord-url URL/],
    [["tui", "--coord-url", "http://x:1"], /missing --job-id J/],
    [
      ["tui", "--coord-url", "ftp://x", "--job-id", "j"],
      /--coord-url must be an http\(s\) URL/,
    ],
    [
      ["tui", "--coord-url", "http://x:1", "--job-id", "j", "--poll-ms", "0"],
      /--poll-ms must be an integer ≥ 10, got "0"/,
    ],
    [
      [
        "tui",
        "--coord-url",
        "http://x:1",
        "--job-id",
        "j",
        "--headless-polls",
        "x",
      ],
      /--headless-polls must be an integer ≥ 1/,
    ],
    [
      ["tui", "--coord-url", "http://x:1", "--job-id", "j"],
      /full-screen mode needs a terminal on stdout; use --headless-polls N/,
    ],
    [["tui", "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = await runMx8(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
    assert.match(lines[0], /\(see mx8 tui --help\)$/);
  }
  const help = await runMx8(["tui", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--stale-heartbeat-ms N/);
  assert.match(help.stdout, /--auth-token-file F/);
});
