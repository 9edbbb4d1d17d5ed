/**
 * `mx8 tui` in tmux against two real `mx8 coordinator --ha-etcd` replicas
 * on a real etcd: the overview shows which replica leads, its term and the
 * job's failovers, and follows a kill -9 of the leader.
 */
import assert from "node:assert/strict";
import { HAS_ETCD, startEtcd } from "../_helpers/etcd.ts";
import { tempDir } from "../_helpers/tmp.ts";
import {
  type CoordinatorProcess,
  startCoordinator,
  writeDataset,
} from "../coordinator/_process.ts";
import { Tmux, tuiCommand } from "./_tmux.ts";

Deno.test({
  name:
    "tui with HA: leader, term and failovers in the overview; a killed leader is replaced and counted",
  ignore: !HAS_ETCD,
  async fn() {
    await using etcd = await startEtcd(1);
    await using data = await tempDir();
    await using store = await tempDir();
    await writeDataset(data.path, 40);
    const replica = () =>
      startCoordinator([
        "--job-id",
        "job-ha",
        "--dataset",
        data.path,
        "--manifest-store",
        store.path,
        "--block-size",
        "8",
        "--ha-etcd",
        etcd.endpoints.join(","),
        "--grpc-bind",
        "off",
      ]);
    const replicas: CoordinatorProcess[] = [await replica()];
    try {
      await replicas[0].waitForEvent((e) => e.event === "leader_ready");
      replicas.push(await replica());
      const [a, b] = replicas;
      await using tmux = new Tmux();
      await tmux.start(
        tuiCommand([
          "tui",
          "--coord-url",
          `${a.url},${b.url}`,
          "--job-id",
          "job-ha",
          "--poll-ms",
          "200",
        ]),
        160,
        40,
      );
      const esc = (s: string) => s.replaceAll(".", "\\.");
      let screen = await tmux.until(
        new RegExp(`leader=${esc(a.url)}\\b`),
        "the first leader",
      );
      const term = Number(/term=(\d+)/.exec(screen)?.[1]);
      assert.ok(term > 0, screen);
      assert.match(screen, /failovers=0\b/);

      Deno.kill(a.pid, "SIGKILL");
      await b.waitForEvent((e) => e.event === "leader_ready", 20_000);
      screen = await tmux.until(
        new RegExp(`leader=${esc(b.url)}\\b[\\s\\S]*failovers=1\\b`),
        "the new leader and one failover",
      );
      assert.ok(Number(/term=(\d+)/.exec(screen)?.[1]) > term, screen);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  },
});
