/**
 * A discrete-event model of `bench:coordinator`, for what the machine's
 * load hides: how the simulated nodes' pacing and the coordinator's CPU per
 * RPC shape the tail, with nothing else running. The coordinator is one
 * event loop: each turn answers every request that arrived before it, at
 * `--cost-ms` each (plus `--turn-ms` per turn), and the answers leave at
 * the end of the turn (Deno writes them once the turn's JavaScript is
 * done); a pause of `--pause-ms` every `--pause-every-ms` (a scavenge, a
 * lost time slice) lengthens the turn it falls in. Each node heartbeats at
 * a random phase, every 90–100 % of `--heartbeat-ms` from the previous
 * send, and reports progress every `--progress-ms`: from the previous
 * report's send (`--progress-from send`, as an agent's consumer) or from
 * its answer (`answer`, the simulator before). Prints the window's RPCs/s,
 * latency p50 / p99 / max and how bunched the starts are (10 ms bins: p99
 * and max over the mean), for each seed.
 *
 * ```sh
 * deno run scripts/bench/_coord_model.ts [--nodes 512] [--cost-ms 0.14] [--progress-from send|answer]
 *   [--heartbeat-ms 200] [--progress-ms 200] [--pause-ms 10] [--pause-every-ms 1000]
 *   [--turn-ms 0.02] [--seeds 3]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

/** What one modelled run gives. */
export interface ModelResult {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** 10 ms bins of RPC starts: p99 and max over the mean. */
  bunch: [number, number];
}

/** Settings of {@linkcode model}. */
export interface ModelOptions {
  nodes: number;
  costMs: number;
  turnMs: number;
  heartbeatMs: number;
  progressMs: number;
  fromSend: boolean;
  pauseMs: number;
  pauseEveryMs: number;
  seed: number;
}

const WARMUP_MS = 2000;
const WINDOW_MS = 10000;

/** Linear congruential source in [0, 1), seeded. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
}

interface Timer {
  at: number;
  node: number;
  /** 0 heartbeat, 1 progress report. */
  kind: 0 | 1;
}

/**
 * Runs the model over a 2 s warm-up and a 10 s window.
 *
 * @param o Settings.
 * @returns The window's figures.
 */
export function model(o: ModelOptions): ModelResult {
  const random = lcg(o.seed);
  const timers: Timer[] = [];
  const insert = (t: Timer) => {
    let lo = 0;
    let hi = timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (timers[mid].at <= t.at) lo = mid + 1;
      else hi = mid;
    }
    timers.splice(lo, 0, t);
  };
  for (let node = 0; node < o.nodes; node++) {
    insert({ at: random() * o.heartbeatMs, node, kind: 0 });
    insert({ at: random() * o.heartbeatMs, node, kind: 1 });
  }
  const latencies: number[] = [];
  const starts = new Array(WINDOW_MS / 10).fill(0);
  let now = 0;
  let nextPause = o.pauseEveryMs;
  while (now < WARMUP_MS + WINDOW_MS) {
    let k = 0;
    while (k < timers.length && timers[k].at <= now) k++;
    if (k === 0) {
      now = timers[0].at;
      continue;
    }
    const turn = timers.splice(0, k);
    let end = now + o.turnMs + turn.length * o.costMs;
    if (o.pauseMs > 0 && end >= nextPause) {
      end += o.pauseMs;
      nextPause += o.pauseEveryMs;
    }
    for (const r of turn) {
      if (r.at >= WARMUP_MS && r.at < WARMUP_MS + WINDOW_MS) {
        latencies.push(end - r.at);
        starts[Math.floor((r.at - WARMUP_MS) / 10)]++;
      }
      const next = r.kind === 0
        ? r.at + o.heartbeatMs * (1 - 0.1 * random())
        : (o.fromSend ? r.at : end) + o.progressMs;
      insert({ at: Math.max(end, next), node: r.node, kind: r.kind });
    }
    now = end;
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.floor(latencies.length * p)];
  const sorted = [...starts].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    rps: latencies.length / (WINDOW_MS / 1000),
    p50: at(0.5),
    p99: at(0.99),
    max: latencies[latencies.length - 1],
    bunch: [
      sorted[Math.floor(sorted.length * 0.99)] / mean,
      sorted[sorted.length - 1] / mean,
    ],
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      nodes: { type: "string", default: "512" },
      "cost-ms": { type: "string", default: "0.14" },
      "turn-ms": { type: "string", default: "0.02" },
      "heartbeat-ms": { type: "string", default: "200" },
      "progress-ms": { type: "string", default: "200" },
      "progress-from": { type: "string", default: "send" },
      "pause-ms": { type: "string", default: "10" },
      "pause-every-ms": { type: "string", default: "1000" },
      seeds: { type: "string", default: "3" },
    },
  });
  if (!["send", "answer"].includes(values["progress-from"]!)) {
    throw new Error(
      `--progress-from must be send or answer: ${values["progress-from"]}`,
    );
  }
  for (let seed = 1; seed <= Number(values.seeds); seed++) {
    const r = model({
      nodes: Number(values.nodes),
      costMs: Number(values["cost-ms"]),
      turnMs: Number(values["turn-ms"]),
      heartbeatMs: Number(values["heartbeat-ms"]),
      progressMs: Number(values["progress-ms"]),
      fromSend: values["progress-from"] === "send",
      pauseMs: Number(values["pause-ms"]),
      pauseEveryMs: Number(values["pause-every-ms"]),
      seed,
    });
    console.log(
      `progress from ${values["progress-from"]}, ${values.nodes} nodes, ${
        values["cost-ms"]
      } ms/RPC, pause ${values["pause-ms"]} ms every ${
        values["pause-every-ms"]
      } ms, seed ${seed}: ${r.rps.toFixed(0)} RPCs/s, p50 ${
        r.p50.toFixed(2)
      } / p99 ${r.p99.toFixed(2)} / max ${r.max.toFixed(2)} ms, 10 ms bins ${
        r.bunch[0].toFixed(2)
      } / ${r.bunch[1].toFixed(2)} × mean`,
    );
  }
}
