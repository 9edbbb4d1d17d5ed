import assert from "node:assert/strict";
import type { ManifestRow } from "../../lib/manifest/row.ts";
import {
  type ExplorerState,
  newExplorer,
  reduceExplorer,
} from "../../lib/tui/explorer.ts";
import { buildView, type JobView } from "../../lib/tui/model.ts";
import {
  type Frame,
  layout,
  type ManifestPanel,
  render,
  type Size,
} from "../../lib/tui/render.ts";
import {
  newTracker,
  trackError,
  trackSnapshot,
} from "../../lib/tui/tracker.ts";
import { FakeJob } from "./_fake_coordinator.ts";

const OPTS = { staleHeartbeatMs: 5000, leaseStallMs: 10000 };
const READY: ManifestPanel = {
  phase: "ready",
  source: "stream",
  truncated: false,
  limit: 200_000,
};

// deno-lint-ignore no-control-regex
const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

function rows(n: number): ManifestRow[] {
  return Array.from({ length: n }, (_, i) => ({
    sampleId: i,
    location: `${i % 2 ? "dog" : "cat"}/${i}.jpg`,
    byteLength: 100 + i,
    byteOffset: i * 512,
  }));
}

function viewOf(job: FakeJob): JobView {
  return buildView(trackSnapshot(newTracker(), job.snapshot(), 0), OPTS, 0);
}

function frame(
  view: JobView,
  explorer: ExplorerState = newExplorer(rows(50)),
  manifest: ManifestPanel = READY,
): Frame {
  return {
    view,
    explorer,
    manifest,
    coordUrl: "http://127.0.0.1:50051",
    jobId: "job-1",
    pollMs: 1000,
  };
}

function screen(f: Frame, size: Size = { columns: 120, rows: 40 }): string[] {
  return render(f, size, { color: false });
}

Deno.test("render: every frame is exactly the terminal size, colored or not", () => {
  const job = new FakeJob(() => 1_000_000);
  job.stop("node-b");
  job.now = () => 1_010_000;
  const v = viewOf(job);
  for (
    const size of [[120, 40], [80, 24], [200, 60], [40, 10], [10, 3], [1, 1]]
  ) {
    for (const color of [false, true]) {
      const note = {
        ...READY,
        note: "stream failed: x; showing --manifest-path",
      };
      const lines = render(
        frame(v, newExplorer(rows(50)), size[0] > 100 ? note : READY),
        { columns: size[0], rows: size[1] },
        { color },
      );
      assert.equal(lines.length, size[1], `rows at ${size}`);
      for (const l of lines) {
        assert.equal(
          Array.from(strip(l)).length,
          size[0],
          `width at ${size}: ${l}`,
        );
      }
      if (!color) assert.ok(lines.every((l) => !l.includes("\x1b")));
    }
  }
});

Deno.test("render: overview, progress and the node row with hb_age_ms", () => {
  const text = screen(frame(viewOf(new FakeJob(() => 1_000_000)))).join("\n");
  assert.match(text, /job=job-1 {2}health= HEALTHY /);
  assert.match(
    text,
    /manifest_hash=(ab){32} ready=true drained=false nodes=3\/3/,
  );
  assert.match(text, /active_leases=2 pool=2 requeued_ranges=0/);
  assert.match(text, /stale_nodes=0 max_hb_age_ms=40 \(stale >5000\)/);
  assert.match(text, /leases_granted=4 leases_expired=0 ranges_requeued=0/);
  assert.match(
    text,
    /lease-1@node-a\[1000,2000\)→1200 lease-2@node-b\[2000,3000\)→2100/,
  );
  assert.match(text, /completed=1300\/5000 \(26\.0%\)/);
  assert.match(
    text,
    /node-a +0 +40 +ok +12\/256M +300\/1024M +29 +2 +3 +64 +0\.12 +hold +400/,
  );
  assert.match(text, /all nodes heartbeating, progress moving/);
});

Deno.test("render: a stale node is highlighted (STALE, red) and named in the alert line", () => {
  const clock = { t: 1_000_000 };
  const job = new FakeJob(() => clock.t);
  job.stop("node-b");
  clock.t += 7_200;
  const v = viewOf(job);
  const plain = screen(frame(v));
  const row = plain.find((l) => l.startsWith(" node-b"))!;
  assert.match(row, /node-b +1 +7200 +STALE/);
  assert.match(plain[0], /health= DEGRADED /);
  assert.match(plain[1], /degraded: node node-b stale: hb_age_ms 7200 > 5000/);
  assert.ok(plain.some((l) => /stale_nodes=1 max_hb_age_ms=7200/.test(l)));
  const colored = render(frame(v), { columns: 120, rows: 40 }, { color: true });
  const crow = colored.find((l) => strip(l).startsWith(" node-b"))!;
  assert.ok(crow.includes("\x1b[1;31m7200"), "hb_age_ms in bold red");
  const okRow = colored.find((l) => strip(l).startsWith(" node-a"))!;
  assert.ok(okRow.includes("\x1b[32m40"), "fresh hb_age_ms in green");
});

Deno.test("render: stalled job shows STALLED and the stuck leases", () => {
  const clock = { t: 1_000_000 };
  const job = new FakeJob(() => clock.t);
  let t = trackSnapshot(newTracker(), job.snapshot(), 0);
  clock.t += 12_000;
  t = trackSnapshot(t, job.snapshot(), 0);
  const text = screen(frame(buildView(t, OPTS, 0))).join("\n");
  assert.match(text, /health= STALLED /);
  assert.match(
    text,
    /stalled: no progress for 12000 ms with 2 active lease\(s\)/,
  );
  assert.match(text, /lease-1@node-a\[1000,2000\)→1200 STUCK 12\.0s/);
  assert.match(text, /no_progress_ms=12000 \(stall ≥10000\)/);
});

Deno.test("render: an unreachable coordinator is said on screen, with the error", () => {
  let t = trackError(
    newTracker(),
    "[unavailable] connect ECONNREFUSED 127.0.0.1:9",
  );
  t = trackError(t, "[unavailable] connect ECONNREFUSED 127.0.0.1:9");
  const lines = screen(frame(buildView(t, OPTS, 0), newExplorer(), {
    phase: "waiting",
    truncated: false,
    limit: 10,
  }));
  assert.match(
    lines[1],
    /COORDINATOR UNREACHABLE: \[unavailable\] connect ECONNREFUSED 127\.0\.0\.1:9 · retry every 1000ms · 2 failed · never ok/,
  );
  assert.match(lines[0], /health= UNKNOWN /);
  assert.ok(lines.some((l) => l.includes("no nodes registered")));
  assert.ok(lines.some((l) => l.includes("waiting for the manifest hash")));
});

Deno.test("render: explorer rows, selection, filter and source labels", () => {
  const v = viewOf(new FakeJob(() => 0));
  let e = newExplorer(rows(50));
  for (const a of ["startFilter", "d", "o", "g", "submit"]) {
    e = reduceExplorer(
      e,
      a.length > 1 ? { type: a } as never : { type: "input", text: a },
      10,
    );
  }
  const before = screen(frame(v, e));
  assert.match(before[before.length - 1], /25 row\(s\) match "dog"/);
  e = reduceExplorer(e, { type: "move", rows: 1 }, 10);
  const plain = screen(frame(v, e));
  const text = plain.join("\n");
  assert.match(
    text,
    /Manifest explorer source: coordinator GetManifestStream · 50 rows · filter "dog": 25 match · row 2\/25/,
  );
  assert.match(text, /^ 1 +512 +101 +dog\/1\.jpg/m);
  assert.ok(!/ cat\/\d+\.jpg/.test(text), "filtered out");
  const colored = render(frame(v, e), { columns: 120, rows: 40 }, {
    color: true,
  });
  const sel = colored.find((l) => strip(l).startsWith(" 3 "))!;
  assert.ok(sel.startsWith("\x1b[7m"), "the selected row is inverse");

  const file = screen(frame(v, newExplorer(rows(3)), {
    phase: "ready",
    source: "file",
    path: "/tmp/m.tsv",
    truncated: true,
    limit: 3,
    note: "stream failed: [not_found] nope; showing --manifest-path",
  })).join("\n");
  assert.match(
    file,
    /source: file \/tmp\/m\.tsv · first 3 rows only \(row limit 3\) · row 1\/3 ─+\n note: stream failed: \[not_found\] nope; showing --manifest-path/,
  );
  const failed = screen(frame(v, newExplorer(), {
    phase: "failed",
    truncated: false,
    limit: 3,
    error: "stream failed: [unavailable] x; no --manifest-path fallback given",
  })).join("\n");
  assert.match(failed, /unavailable: stream failed: \[unavailable\] x/);
  assert.match(failed, /pass --manifest-path F to show a local copy/);
});

Deno.test("render: the open prompt shows in the footer", () => {
  const v = viewOf(new FakeJob(() => 0));
  let e = reduceExplorer(newExplorer(rows(5)), { type: "startGoto" }, 10);
  e = reduceExplorer(e, { type: "input", text: "4" }, 10);
  const lines = screen(frame(v, e));
  assert.match(
    lines[lines.length - 1],
    /^ goto sample_id: 4_ +\(Enter jump · Esc cancel\)/,
  );
});

Deno.test("render: text from the wire cannot inject escape sequences", () => {
  const job = new FakeJob(() => 0);
  job.nodes.set("evil\x1b[2J\x07", {
    rank: 3,
    alive: true,
    lastHeartbeat: 0,
    rss: 0,
    stats: false,
    departed: false,
  });
  const e = newExplorer([{ sampleId: 0, location: "a\x1b]0;pwn\x07b" }]);
  const lines = render(frame(viewOf(job), e), { columns: 120, rows: 40 }, {
    color: true,
  });
  const all = lines.join("\n");
  assert.ok(
    !all.includes("\x1b[2J") && !all.includes("\x07") && !all.includes("\x1b]"),
  );
  assert.ok(all.includes("evil?[2J?"));
  assert.ok(all.includes("(no stats reported yet)"));
});

Deno.test("render: with more nodes than rows, problem nodes are shown first", () => {
  const clock = { t: 1_000_000 };
  const job = new FakeJob(() => clock.t);
  job.nodes.clear();
  for (let i = 0; i < 40; i++) {
    job.nodes.set(`n${String(i).padStart(2, "0")}`, {
      rank: i,
      alive: true,
      lastHeartbeat: 0,
      rss: 0,
      stats: true,
      departed: false,
    });
  }
  job.stop("n37");
  clock.t += 9000;
  const v = viewOf(job);
  const size = { columns: 120, rows: 24 };
  const l = layout(v, size);
  assert.ok(l.nodes < 40 && l.explorer >= 5, JSON.stringify(l));
  const text = render(frame(v), size, { color: false }).join("\n");
  assert.match(text, /n37 +37 +9000 +STALE/);
  assert.match(text, new RegExp(`Nodes \\(${40 - l.nodes} more not shown\\)`));
});
