import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { runHeadless } from "../../lib/tui/headless.ts";
import { loadManifest } from "../../lib/tui/manifest_source.ts";
import { sha256Hex } from "../../lib/util/sha256.ts";
import { tempDir } from "../_helpers/tmp.ts";
import {
  chunks,
  fakeClient,
  FakeJob,
  type FakeScript,
  manifestText,
  startFakeCoordinator,
} from "./_fake_coordinator.ts";

const HEALTH = { staleHeartbeatMs: 5000, leaseStallMs: 10000 };

async function headless(
  script: FakeScript,
  extra: { polls?: number; manifestPath?: string; manifestLimit?: number } = {},
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runHeadless({
    client: fakeClient(script),
    jobId: "job-1",
    polls: extra.polls ?? 3,
    pollMs: 10,
    health: HEALTH,
    manifestPath: extra.manifestPath,
    manifestLimit: extra.manifestLimit,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out, err };
}

Deno.test("headless: a live job prints one status line per poll, then OK", async () => {
  const job = new FakeJob();
  const r = await headless({
    snapshot: () => job.snapshot(),
    manifest: () => chunks(manifestText(30), 64),
  });
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.deepEqual(r.err, []);
  assert.equal(r.out.length, 5);
  for (let i = 0; i < 3; i++) {
    assert.match(
      r.out[i],
      new RegExp(
        `^poll=${
          i + 1
        } health=healthy ready=true drained=false nodes=3/3 active_leases=2 pool=2 completed=1300/5000 stale=0 max_hb_age_ms=40 leases_expired=0 ranges_requeued=0 err=-$`,
      ),
    );
  }
  assert.equal(r.out[3], "manifest source=stream rows=30 truncated=false");
  assert.equal(
    r.out[4],
    "mx8 tui headless OK lease=true runtime=true manifest=true",
  );
});

Deno.test("headless: a stale node shows in the status line", async () => {
  const clock = { t: 1_000_000 };
  const job = new FakeJob(() => clock.t);
  job.stop("node-c");
  const r = await headless({
    snapshot: () => {
      clock.t += 3000;
      return job.snapshot();
    },
    manifest: () => chunks(manifestText(3)),
  });
  assert.equal(r.code, 0);
  assert.match(r.out[0], /health=healthy .* stale=0 max_hb_age_ms=3000 /);
  assert.match(r.out[1], /health=degraded .* stale=1 max_hb_age_ms=6000 /);
  assert.match(r.out[2], /health=degraded .* stale=1 max_hb_age_ms=9000 /);
});

Deno.test("headless: an unreachable coordinator fails naming every empty panel and the error", async () => {
  const r = await headless({
    snapshot: () => {
      throw new ConnectError(
        "connect ECONNREFUSED 127.0.0.1:9",
        Code.Unavailable,
      );
    },
  }, { polls: 2 });
  assert.equal(r.code, 1);
  assert.match(
    r.out[0],
    /^poll=1 health=unknown ready=- .* err="\[unavailable\] connect ECONNREFUSED 127\.0\.0\.1:9"$/,
  );
  assert.equal(
    r.out[r.out.length - 1],
    "mx8 tui headless FAILED lease=false runtime=false manifest=false",
  );
  assert.equal(r.err.length, 1);
  assert.match(
    r.err[0],
    /^mx8 tui: error: no data after 2 poll\(s\) for panel\(s\): lease \(.*\), runtime \(.*\), manifest \(coordinator never answered and no --manifest-path given\); last error: \[unavailable\] connect ECONNREFUSED 127\.0\.0\.1:9$/,
  );
});

Deno.test("headless: a job without leases or stats yet fails naming those panels", async () => {
  const job = new FakeJob();
  job.leases.clear();
  job.completed = 0;
  job.ready = false;
  for (const n of job.nodes.values()) n.stats = false;
  const r = await headless({
    snapshot: () => job.snapshot(),
    manifest: () => chunks(manifestText(3)),
  });
  assert.equal(r.code, 1);
  assert.match(r.out[0], /health=warming ready=false/);
  assert.match(
    r.out[r.out.length - 1],
    /FAILED lease=false runtime=false manifest=true$/,
  );
  assert.match(
    r.err[0],
    /panel\(s\): lease \(.*\), runtime \(no node reported stats\); last error: -$/,
  );
});

Deno.test("headless: a failing stream without --manifest-path names the manifest error", async () => {
  const job = new FakeJob();
  const r = await headless({
    snapshot: () => job.snapshot(),
    manifest: () =>
      new ConnectError("manifest abc not in store", Code.NotFound),
  });
  assert.equal(r.code, 1);
  assert.match(
    r.out[r.out.length - 1],
    /FAILED lease=true runtime=true manifest=false$/,
  );
  assert.match(
    r.err[0],
    /manifest \(stream failed: \[not_found\] manifest abc not in store; no --manifest-path fallback given\)/,
  );
});

Deno.test("headless: --manifest-path is the fallback when the stream fails", async () => {
  await using dir = await tempDir();
  const text = manifestText(12);
  const path = `${dir.path}/manifest.tsv`;
  await Deno.writeTextFile(path, text);
  const job = new FakeJob();
  job.manifestHash = sha256Hex(text);
  const r = await headless({
    snapshot: () => job.snapshot(),
    manifest: () => new ConnectError("boom", Code.Internal),
  }, { manifestPath: path });
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.match(
    r.out[3],
    new RegExp(
      `^manifest source=file path=${path} rows=12 truncated=false note="--manifest-path fallback, sha256 matches the job's manifest_hash; stream failed: \\[internal\\] boom"$`,
    ),
  );
  assert.equal(
    r.out[4],
    "mx8 tui headless OK lease=true runtime=true manifest=true",
  );
});

Deno.test("manifest source: rows are bounded and truncation is reported", async () => {
  const job = new FakeJob();
  let pulled = 0;
  const client = fakeClient({
    snapshot: () => job.snapshot(),
    manifest: () => chunks(manifestText(1000), 100).map((c) => (pulled++, c)),
  });
  const m = await loadManifest(client, {
    jobId: "job-1",
    manifestHash: job.manifestHash,
    limit: 25,
  });
  assert.equal(m.source, "stream");
  assert.equal(m.rows.length, 25);
  assert.equal(m.truncated, true);
  assert.deepEqual(m.rows[24], {
    sampleId: 24,
    location: "shards/shard-00000.tar",
    byteOffset: 512 + 24 * 1536,
    byteLength: 1024,
    decodeHint: "mx8:vision:imagefolder;label_id=0;src=cat/0024.jpg",
  });
  const all = await loadManifest(client, {
    jobId: "job-1",
    manifestHash: job.manifestHash,
    limit: 1000,
  });
  assert.equal(all.truncated, false);
  assert.equal(all.rows.length, 1000);
  assert.ok(pulled > 0);
});

Deno.test("manifest source: the file fallback says when it differs from the pin, and both failures are named", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/m.tsv`;
  await Deno.writeTextFile(path, manifestText(50));
  const client = fakeClient({
    snapshot: () => new FakeJob().snapshot(),
    manifest: () => new ConnectError("gone", Code.NotFound),
  });
  const m = await loadManifest(client, {
    jobId: "job-1",
    manifestHash: "cd".repeat(32),
    manifestPath: path,
    limit: 10,
  });
  assert.equal(m.source, "file");
  assert.equal(m.rows.length, 10);
  assert.equal(m.truncated, true);
  assert.match(m.note!, /sha256 DIFFERS from the job's manifest_hash/);

  await assert.rejects(
    loadManifest(client, {
      jobId: "job-1",
      manifestHash: "cd".repeat(32),
      manifestPath: `${dir.path}/missing.tsv`,
    }),
    /stream failed: \[not_found\] gone; --manifest-path .*missing\.tsv failed: .*No such file/,
  );
  await Deno.writeTextFile(path, "schema_version=0\n0\ta\t1\t\t\n");
  await assert.rejects(
    loadManifest(client, {
      jobId: "job-1",
      manifestHash: "cd".repeat(32),
      manifestPath: path,
    }),
    /m\.tsv:2: byte_offset and byte_length must both be present/,
  );
});

Deno.test("headless over h2c: a coordinator restart shows as errors, then polling recovers", async () => {
  const job = new FakeJob();
  const script = {
    snapshot: () => job.snapshot(),
    manifest: () => chunks(manifestText(5)),
  };
  let fake = await startFakeCoordinator(script);
  const port = Number(new URL(fake.url).port);
  using client = createCoordinatorClient(fake.url);
  const out: string[] = [];
  let polls = 0;
  const run = runHeadless({
    client,
    jobId: "job-1",
    polls: 6,
    pollMs: 50,
    health: HEALTH,
    out: (l) => {
      out.push(l);
      polls++;
    },
    err: () => {},
  });
  try {
    while (polls < 1) await new Promise((r) => setTimeout(r, 5));
    await fake.close();
    while (polls < 3) await new Promise((r) => setTimeout(r, 5));
    fake = await startFakeCoordinator(script, port);
    assert.equal(await run, 0);
  } finally {
    await fake.close();
  }
  assert.match(out[0], /^poll=1 health=healthy .* err=-$/);
  assert.ok(
    out.some((l) => /err="\[unavailable\] .*ECONNREFUSED/.test(l)),
    out.join("\n"),
  );
  assert.match(out[5], /^poll=6 health=healthy .* err=-$/);
  assert.equal(
    out[7],
    "mx8 tui headless OK lease=true runtime=true manifest=true",
  );
});
