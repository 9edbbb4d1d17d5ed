/**
 * Full-screen `mx8 tui` driven in a real terminal: tmux on a private socket
 * (`tmux -L`), a fake coordinator in this process.
 */
import assert from "node:assert/strict";
import { Tmux, tuiCommand } from "./_tmux.ts";
import {
  chunks,
  FakeJob,
  manifestText,
  startFakeCoordinator,
} from "./_fake_coordinator.ts";

Deno.test({
  name:
    "tmux: node rows with hb_age_ms, / filter, a heartbeat that stops turns STALE, q restores the terminal",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const job = new FakeJob();
    const lease = job.leases.get("lease-1")!;
    await using fake = await startFakeCoordinator({
      snapshot: () => {
        lease[3] = Math.min(lease[3] + 1, lease[2]); // progress keeps moving
        return job.snapshot();
      },
      manifest: () => chunks(manifestText(300), 4096),
    });
    await using tmux = new Tmux();
    await tmux.start(tuiCommand([
      "tui",
      "--coord-url",
      fake.url,
      "--job-id",
      "job-1",
      "--poll-ms",
      "200",
      "--stale-heartbeat-ms",
      "1500",
    ]));

    let screen = await tmux.until(/node-b +1 +\d+ +ok/, "node rows");
    assert.match(screen, /health= HEALTHY /);
    assert.match(screen, /node-a +0 +\d+ +ok +12\/256M +300\/1024M/);
    assert.doesNotMatch(screen, /BEFORE-TUI/, "alternate screen in use");
    await tmux.until(/GetManifestStream · 300 rows/, "manifest rows");

    await tmux.keys("-l", "/dog/0013");
    // The whole filtered frame (status line and rows), not a capture taken
    // mid-redraw.
    screen = await tmux.until(
      /^(?=[\s\S]*filter "dog\/0013": 1 match)(?=[\s\S]*^ \/dog\/0013_)(?=[\s\S]*^ 13 +20480 )/m,
      "filter",
    );
    assert.match(screen, /^ \/dog\/0013_/m);
    assert.match(screen, /^ 13 +20480 +1013 +shards\/shard-00000\.tar/m);
    assert.doesNotMatch(screen, /^ 12 +/m);
    await tmux.keys("Enter");
    await tmux.until(/1 row\(s\) match "dog\/0013"/, "filter kept");

    job.stop("node-b");
    screen = await tmux.until(/node-b +1 +\d+ +STALE/, "stale node-b");
    assert.match(screen, /health= DEGRADED /);
    assert.match(screen, /degraded: node node-b stale: hb_age_ms \d+ > 1500/);
    assert.match(screen, /stale_nodes=1 /);

    await tmux.run(
      "resize-window",
      "-t",
      tmux.session,
      "-x",
      "100",
      "-y",
      "30",
    );
    // Wait for the whole frame (header and footer) so the capture is not mid-redraw.
    screen = await tmux.until(
      /^── Overview ─{88}$[\s\S]*^ 1 row\(s\) match "dog\/0013"/m,
      "redraw after resize",
    );
    const lines = screen.replace(/\n$/, "").split("\n");
    assert.equal(lines.length, 30);
    assert.ok(lines.every((l) => l.length <= 100), "lines fit the new width");
    assert.match(
      lines[29],
      /^ 1 row\(s\) match "dog\/0013"/,
      "footer on the last row",
    );

    await tmux.keys("q");
    screen = await tmux.until(/TUI-EXIT rc=0/, "exit");
    assert.match(screen, /BEFORE-TUI/, "the previous screen is back");
    assert.doesNotMatch(screen, /Manifest explorer|node-a/);
  },
});

Deno.test({
  name:
    "tmux: an unreachable coordinator is on screen with the error; Ctrl-C exits cleanly",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    await using tmux = new Tmux();
    await tmux.start(
      tuiCommand([
        "tui",
        "--coord-url",
        `http://127.0.0.1:${port}`,
        "--job-id",
        "job-1",
        "--poll-ms",
        "200",
      ]),
      120,
      30,
    );
    const screen = await tmux.until(
      /COORDINATOR UNREACHABLE: \[unavailable\] .*ECONNREFUSED.* · retry every 200ms · [2-9]\d* failed · never ok/,
      "unreachable banner that keeps retrying",
    );
    assert.match(screen, /health= UNKNOWN /);
    await tmux.keys("C-c");
    const after = await tmux.until(/TUI-EXIT rc=0/, "exit on Ctrl-C");
    assert.match(after, /BEFORE-TUI/);
  },
});
