/**
 * Lines up a `bench:coordinator` run's simulator timeline (`--timeline`)
 * with the coordinator's lag rows (`--lag`) by `unix_ms`, and sorts every
 * slow 100 ms bin (slowest call above `--slow-ms`, default 10) into:
 * - `machine`: the coordinator's event loop was late and its main thread
 *   waited in the run queue for at least half the lag (another process
 *   had the core);
 * - `coordinator`: the loop was late while the thread ran or was blocked
 *   (its own work, GC pauses);
 * - `elsewhere`: the loop was on time (the delay was in the kernel, the
 *   network stack or the client).
 *
 * ```sh
 * deno run -A scripts/bench/_coord_stalls.ts TIMELINE.tsv LAG.tsv [--slow-ms 10] [--rows]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Rows of a TSV with a header, keyed by column name. */
function readTsv(path: string): Record<string, number>[] {
  const [head, ...lines] = Deno.readTextFileSync(path).trim().split("\n");
  const names = head.split("\t");
  return lines.filter((l) => l && !l.startsWith("unix_ms")).map((l) => {
    const f = l.split("\t").map(Number);
    return Object.fromEntries(names.map((n, i) => [n, f[i]]));
  });
}

/** Lag below this (ms) counts as an on-time event loop. */
const ON_TIME_MS = 5;

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    "slow-ms": { type: "string", default: "10" },
    rows: { type: "boolean", default: false },
  },
});
if (positionals.length !== 2) {
  console.error(
    "usage: _coord_stalls.ts TIMELINE.tsv LAG.tsv [--slow-ms 10] [--rows]",
  );
  Deno.exit(2);
}
const slowMs = Number(values["slow-ms"]);
const lag = new Map(readTsv(positionals[1]).map((r) => [r.unix_ms, r]));
const kinds = { machine: 0, coordinator: 0, elsewhere: 0, "no lag row": 0 };
let bins = 0;
for (const t of readTsv(positionals[0])) {
  bins++;
  if (t.max_ms <= slowMs) continue;
  // Lag rows are wall-clock 100 ms bins, the timeline's start where the
  // window did: a timeline bin overlaps two lag bins, and a long stall is
  // noted in the bin in which the timer fired again, so take the worst of
  // the three.
  const first = Math.floor(t.unix_ms / 100) * 100;
  const rows = [first, first + 100, first + 200].map((u) => lag.get(u))
    .filter((r) => r !== undefined);
  let kind: keyof typeof kinds = "no lag row";
  if (rows.length > 0) {
    const worst = rows.reduce((a, b) => (b.max_lag_ms > a.max_lag_ms ? b : a));
    kind = worst.max_lag_ms < ON_TIME_MS
      ? "elsewhere"
      : worst.runq_wait_ms >= worst.max_lag_ms / 2
      ? "machine"
      : "coordinator";
    if (values.rows) {
      console.log(
        `${t.start_ms} ms: slowest ${t.max_ms} ms, ${t.slow_5ms}/${t.rpcs} > 5 ms | lag ${worst.max_lag_ms} ms, cpu ${worst.cpu_ms} ms, run-queue wait ${worst.runq_wait_ms} ms → ${kind}`,
      );
    }
  }
  kinds[kind]++;
}
console.log(
  `${bins} bins; slow (> ${slowMs} ms): ${
    Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(", ")
  }`,
);
