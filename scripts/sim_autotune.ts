/**
 * Autotune memory-pressure simulation (`deno task sim:autotune`).
 *
 * Drives the pure autotune controller through 60 scripted ticks: a fast
 * consumer (the loader must speed up), a slow consumer while outside RSS
 * ramps toward the cap (the loader must cut), a release (it must recover),
 * then a steady phase. Prints one line per tick, then checks that the
 * controller cut under pressure, increased again after the cut and never
 * left the profile's rails. Exits 1 with a message otherwise; the last line
 * is `sim:autotune PASS cuts=N increases=M`.
 *
 * Usage: `deno run scripts/sim_autotune.ts [--profile safe|balanced|throughput]`
 * (default: `MX8_AUTOTUNE_PROFILE`, else `balanced`).
 *
 * @module
 */

import {
  AutotuneController,
  type AutotuneDecision,
  type AutotuneKnobs,
  autotuneProfile,
  type AutotuneProfileName,
  type AutotuneSignals,
  knobsWithinRails,
} from "../lib/autotune/mod.ts";

const MIB = 1048576;
const RSS_CAP_BYTES = 1024 * MIB;
const BATCH_BYTES = 2 * MIB;
const LOADER_BASE_RSS_BYTES = 64 * MIB;

/** A phase of the scripted workload. */
export type SimPhase = "fast_consumer" | "rss_ramp" | "release" | "steady";

/** One simulated tick. */
export interface SimTick {
  /** Tick index from 0. */
  tick: number;
  /** Scripted phase. */
  phase: SimPhase;
  /** Signals fed to the controller. */
  signals: AutotuneSignals;
  /** The controller's decision. */
  decision: AutotuneDecision;
  /** Knobs after the tick. */
  knobs: AutotuneKnobs;
  /** Pressure after the tick. */
  pressure: number;
}

/** Outcome of {@linkcode checkSimulation}. */
export interface SimVerdict {
  /** Cuts (hard or soft) while memory was under pressure. */
  cuts: number;
  /** Increases after the first cut. */
  increases: number;
  /** Why the run failed; empty when it passed. */
  failures: string[];
}

function phaseOf(tick: number, ticks: number): SimPhase {
  const f = tick / ticks;
  return f < 0.2
    ? "fast_consumer"
    : f < 0.5
    ? "rss_ramp"
    : f < 0.7
    ? "release"
    : "steady";
}

/** Outside RSS (other processes in the cgroup, caches) as a fraction of the cap. */
function outsideRss(tick: number, ticks: number): number {
  const f = tick / ticks;
  if (f < 0.2) return 0.3;
  if (f < 0.35) return 0.3 + 0.62 * (f - 0.2) / 0.15; // ramps to 0.92
  if (f < 0.5) return 0.92; // stays high: only the floor of the rails is left
  return 0.25;
}

/**
 * Runs the scripted workload through an {@linkcode AutotuneController}.
 *
 * @param profileName The autotune profile.
 * @param ticks Number of ticks (60 by default).
 * @returns One record per tick.
 */
export function simulateAutotune(
  profileName: AutotuneProfileName,
  ticks = 60,
): SimTick[] {
  const profile = autotuneProfile(profileName);
  const tuner = new AutotuneController(profile);
  const inflightCapBytes = profile.startMaxInflightBytes;
  let queueDepth = 0;
  const rows: SimTick[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    const phase = phaseOf(tick, ticks);
    const { prefetchBatches, maxQueueBatches } = tuner.knobs;
    const slowConsumer = phase === "rss_ramp" || phase === "steady";
    // A slow consumer lets the ready queue fill; a fast one drains it.
    queueDepth = slowConsumer
      ? Math.min(maxQueueBatches, queueDepth + 4 * prefetchBatches)
      : Math.min(maxQueueBatches, 1);
    const inflightBytes = Math.min(
      inflightCapBytes,
      (queueDepth + prefetchBatches) * BATCH_BYTES,
    );
    const waitRatio = phase === "steady"
      ? 0.02
      : slowConsumer
      ? 0
      : Math.max(0.1, 0.6 - 0.05 * prefetchBatches);
    const signals: AutotuneSignals = {
      waitRatio,
      rssBytes: Math.round(
        outsideRss(tick, ticks) * RSS_CAP_BYTES + LOADER_BASE_RSS_BYTES +
          inflightBytes,
      ),
      rssCapBytes: RSS_CAP_BYTES,
      inflightBytes,
      inflightCapBytes,
    };
    const step = tuner.step(signals);
    rows.push({
      tick,
      phase,
      signals,
      decision: step.decision,
      knobs: step.knobs,
      pressure: step.state.pressure,
    });
  }
  return rows;
}

/**
 * Checks a run: at least one cut under pressure, at least one increase after
 * the first cut, knobs always on the profile's rails.
 *
 * @param profileName The profile the run used.
 * @param rows The run.
 * @returns Counts and failures.
 */
export function checkSimulation(
  profileName: AutotuneProfileName,
  rows: readonly SimTick[],
): SimVerdict {
  const profile = autotuneProfile(profileName);
  const failures: string[] = [];
  const isCut = (d: AutotuneDecision) => d === "hard_cut" || d === "soft_cut";
  const underPressure = (r: SimTick) =>
    r.signals.rssBytes / r.signals.rssCapBytes >= 0.9 || r.pressure > 0 ||
    r.signals.inflightBytes / r.signals.inflightCapBytes >= 0.98;
  const cuts = rows.filter((r) => isCut(r.decision) && underPressure(r)).length;
  const firstCut = rows.findIndex((r) => isCut(r.decision));
  const increases = firstCut < 0
    ? 0
    : rows.slice(firstCut).filter((r) => r.decision === "increase").length;
  if (cuts === 0) failures.push("no cut under memory pressure");
  if (increases === 0) failures.push("no recovery increase after the cut");
  for (const r of rows) {
    if (!knobsWithinRails(r.knobs, profile)) {
      failures.push(
        `knobs left the ${profile.name} rails at tick ${r.tick}: ${
          JSON.stringify(r.knobs)
        }`,
      );
    }
  }
  return { cuts, increases, failures };
}

function formatRow(r: SimTick): string {
  const s = r.signals;
  return [
    `tick=${String(r.tick).padStart(2, "0")}`,
    `phase=${r.phase.padEnd(13)}`,
    `wait=${s.waitRatio.toFixed(2)}`,
    `rss=${(s.rssBytes / s.rssCapBytes).toFixed(3)}`,
    `inflight=${(s.inflightBytes / s.inflightCapBytes).toFixed(3)}`,
    `decision=${r.decision.padEnd(8)}`,
    `prefetch=${r.knobs.prefetchBatches}`,
    `queue=${r.knobs.maxQueueBatches}`,
    `want=${r.knobs.want}`,
    `pressure=${r.pressure.toFixed(3)}`,
  ].join(" ");
}

function profileFromArgs(args: string[]): AutotuneProfileName {
  const i = args.findIndex((a) =>
    a === "--profile" || a.startsWith("--profile=")
  );
  const name = i < 0
    ? Deno.env.get("MX8_AUTOTUNE_PROFILE")
    : args[i].includes("=")
    ? args[i].slice("--profile=".length)
    : args[i + 1];
  return autotuneProfile(name).name;
}

if (import.meta.main) {
  let profileName: AutotuneProfileName;
  try {
    profileName = profileFromArgs(Deno.args);
  } catch (err) {
    console.error(`sim:autotune FAIL ${(err as Error).message}`);
    Deno.exit(2);
  }
  console.log(`sim:autotune profile=${profileName} ticks=60`);
  const rows = simulateAutotune(profileName);
  for (const row of rows) console.log(formatRow(row));
  const { cuts, increases, failures } = checkSimulation(profileName, rows);
  if (failures.length > 0) {
    console.error(`sim:autotune FAIL ${failures.join("; ")}`);
    Deno.exit(1);
  }
  console.log(`sim:autotune PASS cuts=${cuts} increases=${increases}`);
}
