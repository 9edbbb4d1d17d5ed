/**
 * `mx8 tui` against the real `mx8 coordinator` process (and a real
 * `mx8 agent`): the runbook incidents as the operator sees them.
 */
import assert from "node:assert/strict";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { lastLine, mx8Args, runMx8 } from "../_helpers/mx8.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { startCoordinator, writeDataset } from "../coordinator/_process.ts";
import { Tmux, tuiCommand } from "./_tmux.ts";

const OK = "mx8 tui headless OK lease=true runtime=true manifest=true";

function tuiArgs(url: string, polls: number, ...extra: string[]): string[] {
  return [
    "tui",
    "--coord-url",
    url,
    "--job-id",
    "job-tui",
    "--headless-polls",
    String(polls),
    "--poll-ms",
    "250",
    ...extra,
  ];
}

Deno.test("real coordinator: warming without nodes, then an agent's leases and stats, then drained", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 40);
  await using coord = await startCoordinator([
    "--job-id",
    "job-tui",
    "--dataset",
    data.path,
    "--manifest-store",
    store.path,
    "--block-size",
    "8",
    "--heartbeat-ms",
    "100",
  ]);

  // No node yet: the manifest streams, but the lease and runtime panels are empty.
  const empty = await runMx8(tuiArgs(coord.url, 1));
  assert.equal(empty.code, 1);
  assert.match(
    empty.stdout,
    /^poll=1 health=warming ready=false drained=false nodes=0\/1 active_leases=0 pool=0 completed=0\/40 stale=0 max_hb_age_ms=0 leases_expired=0 ranges_requeued=0 err=-$/m,
  );
  assert.match(
    empty.stdout,
    /^manifest source=stream rows=40 truncated=false$/m,
  );
  assert.equal(
    lastLine(empty.stdout),
    "mx8 tui headless FAILED lease=false runtime=false manifest=true",
  );
  assert.match(
    empty.stderr,
    /panel\(s\): lease \(.*\), runtime \(.*\); last error: -/,
  );

  // A real agent with a slow sink: the TUI sees its lease and its stats.
  const agent = new Deno.Command(Deno.execPath(), {
    args: mx8Args([
      "agent",
      "--coord-url",
      coord.url,
      "--job-id",
      "job-tui",
      "--node-id",
      "agent-1",
      "--batch-size",
      "4",
      "--sink-sleep-ms",
      "60",
    ]),
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    await coord.waitForEvent((e) => e.event === "lease_granted");
    const live = await runMx8(tuiArgs(coord.url, 2));
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(
      live.stdout,
      /^poll=1 health=healthy ready=true drained=false nodes=1\/1 active_leases=1 pool=\d+ completed=\d+\/40 stale=0 max_hb_age_ms=\d+ /m,
    );
    assert.equal(lastLine(live.stdout), OK);
  } finally {
    const out = new TextDecoder().decode((await agent.output()).stdout);
    assert.match(out, /mx8 agent done node=agent-1 samples=40 /);
  }

  const drained = await runMx8(tuiArgs(coord.url, 1));
  assert.equal(drained.code, 0, drained.stderr);
  assert.match(
    drained.stdout,
    /^poll=1 health=drained ready=true drained=true nodes=1\/1 active_leases=0 pool=0 completed=40\/40 stale=0 /m,
  );
  assert.equal(lastLine(drained.stdout), OK);
});

Deno.test("real coordinator: a node that stops heartbeating mid-lease is stale, the lease stalls, then expires and requeues", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 20);
  await using coord = await startCoordinator([
    "--job-id",
    "job-tui",
    "--dataset",
    data.path,
    "--manifest-store",
    store.path,
    "--block-size",
    "10",
    "--heartbeat-ms",
    "100",
    "--lease-ttl-ms",
    "5000",
  ]);
  using client = createCoordinatorClient(coord.url);
  const job = { jobId: "job-tui", nodeId: "node-x" };
  await client.registerNode({
    ...job,
    caps: { maxInflightBytes: 64n << 20n, maxRamBytes: 512n << 20n },
  });
  await client.heartbeat({
    ...job,
    unixTimeMs: BigInt(Date.now()),
    stats: {
      inflightBytes: 1n << 20n,
      processRssBytes: 100n << 20n,
      ramHighWaterBytes: 100n << 20n,
      maxInflightBytes: 64n << 20n,
      maxProcessRssBytes: 512n << 20n,
      effectiveWant: 1,
    },
  });
  const [lease] = (await client.requestLease({ ...job, want: 1 })).leases;
  await client.reportProgress({
    ...job,
    leaseId: lease.leaseId,
    cursor: lease.range!.startId + 3n,
    deliveredSamples: 3n,
  });
  // node-x now goes silent, holding its lease.

  const r = await runMx8(
    tuiArgs(
      coord.url,
      4,
      "--stale-heartbeat-ms",
      "300",
      "--lease-stall-ms",
      "600",
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const polls = r.stdout.split("\n").filter((l) => l.startsWith("poll="));
  assert.equal(polls.length, 4);
  // Stale heartbeat: hb_age_ms above the threshold, active lease, no progress.
  assert.match(
    polls[2],
    /health=(degraded|stalled) .*active_leases=1 .*stale=1 max_hb_age_ms=\d{3,}/,
  );
  // Lease stall: 750 ms of polls without progress outranks the stale node.
  assert.match(polls[3], /^poll=4 health=stalled .*active_leases=1 .*stale=1 /);
  assert.equal(lastLine(r.stdout), OK);

  // After the TTL the coordinator expires the lease and requeues its remainder.
  await coord.waitForEvent((e) => e.event === "lease_expired", 15_000);
  const after = await runMx8(
    tuiArgs(coord.url, 1, "--stale-heartbeat-ms", "300"),
  );
  assert.match(
    after.stdout,
    /^poll=1 health=degraded .*active_leases=0 .*stale=1 .*leases_expired=1 ranges_requeued=\d+ err=-$/m,
  );
});

Deno.test({
  name:
    "real coordinator, full screen: the node row turns STALE when its heartbeats stop",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using data = await tempDir();
    await using store = await tempDir();
    await writeDataset(data.path, 20);
    await using coord = await startCoordinator([
      "--job-id",
      "job-tui",
      "--dataset",
      data.path,
      "--manifest-store",
      store.path,
      "--heartbeat-ms",
      "100",
      "--lease-ttl-ms",
      "60000",
    ]);
    using client = createCoordinatorClient(coord.url);
    const job = { jobId: "job-tui", nodeId: "node-x" };
    await client.registerNode(job);
    let beating = true;
    const beat = (async () => {
      while (beating) {
        await client.heartbeat({
          ...job,
          stats: { inflightBytes: 3n << 20n, maxInflightBytes: 64n << 20n },
        });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await using tmux = new Tmux();
      await tmux.start(tuiCommand([
        "tui",
        "--coord-url",
        coord.url,
        "--job-id",
        "job-tui",
        "--poll-ms",
        "200",
        "--stale-heartbeat-ms",
        "1000",
      ]));
      let screen = await tmux.until(
        /node-x +0 +\d+ +ok +3\.0\/64M/,
        "node row",
      );
      screen = await tmux.until(/GetManifestStream · 20 rows/, "manifest");
      assert.match(screen, /^ 0 +- +- +.*cat\/0000\.jpg/m);
      beating = false;
      await beat;
      screen = await tmux.until(/node-x +0 +\d{4,} +STALE/, "stale node row");
      assert.match(screen, /health= DEGRADED /);
      assert.match(screen, /stale_nodes=1 /);
      await tmux.keys("q");
      await tmux.until(/TUI-EXIT rc=0/, "exit");
    } finally {
      beating = false;
      await beat;
    }
  },
});
