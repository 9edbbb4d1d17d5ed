/**
 * Benchmark of one HA commit plan (lib/ha/view.ts `toView` + lib/ha/plan.ts
 * `planWrites`, pure CPU, no etcd): the whole-view planner (the original
 * `toView` from the full `image()`, frozen in tests/ha/_whole_view.ts)
 * against the leader's (`durableImage()` with the job's `ViewCache`), on a
 * real `LeaseState` driven as `deno task bench:ha --only rpc` drives the
 * coordinator: N nodes, blocks and leases of 100 samples, shuffled, progress
 * 10 samples at a time, the next lease granted by its own RPC, a flush every
 * 50 reports. Both planners plan every durable change of the same sequence;
 * each round times one of them (alternating), the first quarter is warm-up.
 *
 * ```sh
 * deno task bench:ha-plan [--nodes 128,512] [--rounds 3]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  jobKeys,
  LAYOUT_VERSION,
  type MetaRecord,
} from "../../lib/ha/layout.ts";
import { type KeyWrite, planWrites } from "../../lib/ha/plan.ts";
import { toView, type View, ViewCache } from "../../lib/ha/view.ts";
import { RangeSet } from "../../lib/lease/range_set.ts";
import { LeaseState, type LeaseStateOptions } from "../../lib/lease/state.ts";
import type { DurableImage } from "../../lib/lease/types.ts";
import { toView as wholeView } from "../../tests/ha/_whole_view.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "128,512" },
    rounds: { type: "string", default: "3" },
  },
});
const NODES = values.nodes.split(",").map(Number);
const ROUNDS = Number(values.rounds);
if (NODES.some((n) => !(n >= 1)) || !(ROUNDS >= 1)) {
  console.error(
    "bench:ha-plan: --nodes takes counts like 128,512; --rounds a count",
  );
  Deno.exit(2);
}

/** Per plan µs of one run of the sequence, timing `cached` or the whole view. */
function run(nodes: number, cached: boolean): { us: number; keys: number } {
  const options: LeaseStateOptions = {
    jobId: "j1",
    // What bench:coordinator packs for N nodes over 10 s (+5) at 200 ms.
    totalSamples: Math.ceil(nodes * 15 * 5 * 10 * 1.2),
    blockSize: 100,
    worldSize: nodes,
    leaseTtlMs: 30_000,
    shuffle: true,
    seed: 42n,
    epoch: 1,
    manifestHash: "h",
    leaseIdPrefix: "run1-",
  };
  const meta: MetaRecord = {
    v: LAYOUT_VERSION,
    jobId: "j1",
    manifestHash: "h",
    totalSamples: options.totalSamples,
    blockSize: 100,
    seed: "42",
    epoch: 1,
    shuffle: true,
    resumed: [],
    ready: false,
    worldSize: nodes,
  };
  const keys = jobKeys("j1");
  const state = new LeaseState<unknown, unknown>(options);
  for (let i = 0; i < nodes; i++) state.register(`n${i}`, { i }, 0);
  const cache = new ViewCache();
  const sent: View = new Map();
  let us = 0, plans = 0, timing = false;
  const commit = (flush: boolean) => {
    const t0 = performance.now();
    const image: DurableImage = cached ? state.durableImage() : state.image();
    const next = cached
      ? toView(image, meta, keys, sent, cache)
      : wholeView(image, meta, keys, sent);
    let set: RangeSet | undefined;
    const w = planWrites(sent, next, (startId, endId) => {
      set ??= new RangeSet(image.completed);
      return set.subtractFrom({ startId, endId }).length === 0;
    });
    if (timing && !flush) {
      us += (performance.now() - t0) * 1000;
      plans++;
    }
    const apply = (writes: Map<string, KeyWrite>) => {
      for (const [k, e] of writes) e === null ? sent.delete(k) : sent.set(k, e);
    };
    apply(w.durable);
    if (flush) apply(w.deferred);
  };
  const leases = new Map<string, { id: string; cursor: number; end: number }>();
  let now = 1;
  const grant = (node: string) => {
    const [l] = state.requestLease(node, 1, now++).leases;
    if (l === undefined) leases.delete(node);
    else leases.set(node, { id: l.leaseId, cursor: l.startId, end: l.endId });
    commit(false);
  };
  for (let i = 0; i < nodes; i++) grant(`n${i}`);
  commit(true);
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return Math.floor((seed / 0x80000000) * n);
  };
  const steps = nodes * 60;
  for (let s = 0; s < steps && leases.size > nodes / 2; s++) {
    timing = s > steps / 4;
    const node = `n${rand(nodes)}`;
    const l = leases.get(node);
    if (l === undefined) continue;
    l.cursor = Math.min(l.end, l.cursor + 10);
    const before = state.durableVersion;
    const r = state.reportProgress(node, l.id, l.cursor, 10, 0, now++);
    if (state.durableVersion !== before) commit(false);
    if (r.leaseCompleted) grant(node);
    if (s % 50 === 0) commit(true);
  }
  return { us: us / plans, keys: sent.size };
}

const loadAverage = () =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
console.log(
  `\n## bench:ha-plan: one commit plan (image → view → writes), per plan µs, ${ROUNDS} rounds each (alternating), load average ${loadAverage()}\n`,
);
console.log("| nodes | keys | whole view µs | leader's µs | ratio |");
console.log("|---:|---:|---:|---:|---:|");
for (const nodes of NODES) {
  const whole: number[] = [], leader: number[] = [];
  let keys = 0;
  for (let r = 0; r < ROUNDS; r++) {
    whole.push(run(nodes, false).us);
    const got = run(nodes, true);
    leader.push(got.us);
    keys = got.keys;
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const w = median(whole), l = median(leader);
  console.log(
    `| ${nodes} | ${keys} | ${w.toFixed(0)} | ${l.toFixed(0)} | ${
      (w / l).toFixed(2)
    }× |`,
  );
}
console.log(`(load average after: ${loadAverage()})`);
