/**
 * The invariants of the HA drills (spec §12), checked from the event logs
 * of every coordinator replica and every agent after a job: shared by
 * tests/coordinator/ha_drill_test.ts and the soak of `deno task bench:ha`
 * (scripts/bench/ha.ts), so both judge a run the same way.
 *
 * - every sample of `[0, samples)` was delivered by some agent;
 * - no range ever had two live owners: two grants answered to agents that
 *   overlap, the later one before the earlier one ended;
 * - no completion was lost: no range an agent saw acknowledged as completed
 *   was granted again afterwards;
 * - no replica saw overlapping live leases (`lease_overlap`);
 * - the job drained (some replica logged `job_drained`) and every agent
 *   exited 0.
 *
 * @module
 */
import { readIds } from "../agent/_agents.ts";

/** One JSON event line. */
export type Event = Record<string, unknown>;

/** What an agent process left behind. */
export interface AgentResult {
  /** Exit code. */
  code: number;
  /** Its stderr (JSON event lines and others). */
  stderr: string;
}

/** The JSON event lines of an agent's stderr. */
export function agentEvents(result: { stderr: string }): Event[] {
  const events: Event[] = [];
  for (const line of result.stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line));
    } catch { /* a line cut by a kill */ }
  }
  return events;
}

/** Lease ids the agents were answered with (their `lease_granted` lines). */
export function receivedLeases(results: { stderr: string }[]): Set<unknown> {
  const ids = new Set<unknown>();
  for (const r of results) {
    for (const e of agentEvents(r)) {
      if (e.event === "lease_granted") ids.add(e.lease_id);
    }
  }
  return ids;
}

const overlaps = (a: Event, b: Event) =>
  Number(a.start_id) < Number(b.end_id) &&
  Number(b.start_id) < Number(a.end_id);

/**
 * Two grants of overlapping ranges under different lease ids, both
 * answered to an agent (a grant whose commit failed was logged by its
 * replica but never answered, so it has no owner): the earlier lease must
 * have ended (expired or completed) before the later grant.
 *
 * @param logs Every replica's events.
 * @param received Lease ids agents received ({@linkcode receivedLeases}).
 * @returns One line per violation (empty: none).
 */
export function doubleOwners(
  logs: Event[][],
  received: Set<unknown>,
): string[] {
  const all = logs.flat();
  const grants = all.filter((e) => e.event === "lease_granted")
    .filter((g) => received.has(g.lease_id))
    .sort((a, b) => String(a.ts).localeCompare(String(b.ts)));
  const endedAt = new Map<unknown, string>();
  for (const e of all) {
    if (e.event === "lease_expired" || e.event === "lease_completed") {
      const prev = endedAt.get(e.lease_id);
      if (prev === undefined || String(e.ts) < prev) {
        endedAt.set(e.lease_id, String(e.ts));
      }
    }
  }
  // Sorted by start: only grants whose ranges overlap are compared.
  const byStart = [...grants].sort((a, b) =>
    Number(a.start_id) - Number(b.start_id)
  );
  const problems: string[] = [];
  for (let i = 0; i < byStart.length; i++) {
    for (let j = i + 1; j < byStart.length; j++) {
      if (Number(byStart[j].start_id) >= Number(byStart[i].end_id)) break;
      const [a, b] = String(byStart[i].ts) <= String(byStart[j].ts)
        ? [byStart[i], byStart[j]]
        : [byStart[j], byStart[i]];
      if (a.lease_id === b.lease_id || !overlaps(a, b)) continue;
      const ended = endedAt.get(a.lease_id);
      if (ended === undefined || ended > String(b.ts)) {
        problems.push(
          `${JSON.stringify(a)} still live at ${JSON.stringify(b)}`,
        );
      }
    }
  }
  return problems;
}

/**
 * Completions acknowledged to an agent (its `lease_completed` line, logged
 * once the leader answered the final report) whose range some replica
 * granted again afterwards: the new leader did not know it was done.
 *
 * @param logs Every replica's events.
 * @param results Every agent's stderr.
 * @returns One line per violation (empty: none).
 */
export function lostCompletions(
  logs: Event[][],
  results: { stderr: string }[],
): string[] {
  const done: Event[] = [];
  for (const r of results) {
    const events = agentEvents(r);
    const ranges = new Map<unknown, Event>();
    for (const e of events) {
      if (e.event === "lease_granted") ranges.set(e.lease_id, e);
    }
    for (const e of events) {
      const g = ranges.get(e.lease_id);
      if (e.event === "lease_completed" && g !== undefined) {
        done.push({ ...g, ts: e.ts });
      }
    }
  }
  done.sort((a, b) => Number(a.start_id) - Number(b.start_id));
  // maxEnd[k]: the largest end among done[0..k] (non-decreasing).
  const maxEnd: number[] = [];
  for (const d of done) {
    maxEnd.push(Math.max(maxEnd.at(-1) ?? 0, Number(d.end_id)));
  }
  const grants = logs.flat().filter((e) => e.event === "lease_granted");
  const problems: string[] = [];
  for (const g of grants) {
    // The first completion that may overlap, then scan while they start
    // before the grant ends.
    let lo = 0, hi = done.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (maxEnd[mid] <= Number(g.start_id)) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < done.length; k++) {
      const d = done[k];
      if (Number(d.start_id) >= Number(g.end_id)) break;
      if (overlaps(d, g) && String(g.ts) > String(d.ts)) {
        problems.push(
          `completed ${JSON.stringify(d)} granted again: ${JSON.stringify(g)}`,
        );
      }
    }
  }
  return problems;
}

/**
 * Ids of `[0, samples)` no agent delivered.
 *
 * @param idFiles The agents' `ids:` sink files.
 * @param samples Samples in the job.
 * @returns The missing ids, and how many distinct ids were delivered.
 */
export async function missingIds(
  idFiles: string[],
  samples: number,
): Promise<{ missing: number[]; delivered: number }> {
  const seen = new Uint8Array(samples);
  let delivered = 0;
  for (const path of idFiles) {
    for (const x of await readIds(path)) {
      if (x >= 0 && x < samples && seen[x] === 0) {
        seen[x] = 1;
        delivered++;
      }
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < samples; i++) if (seen[i] === 0) missing.push(i);
  return { missing, delivered };
}

/** Everything one HA run is judged on. */
export interface HaRunReport {
  /** Distinct ids delivered. */
  delivered: number;
  /** Lease ids agents received. */
  leases: number;
  /** One line per broken invariant (empty: all hold). */
  problems: string[];
}

/**
 * Checks every invariant of an HA run (see the module doc).
 *
 * @param run Replica logs (all replicas ever started, killed ones too),
 *   agent results, their `ids:` files and the job's size.
 * @returns Counts and the broken invariants.
 */
export async function checkHaRun(run: {
  logs: Event[][];
  agents: AgentResult[];
  idFiles: string[];
  samples: number;
}): Promise<HaRunReport> {
  const problems: string[] = [];
  const { missing, delivered } = await missingIds(run.idFiles, run.samples);
  if (missing.length > 0) {
    problems.push(
      `${missing.length} samples never delivered (first: ${
        missing.slice(0, 10).join(", ")
      })`,
    );
  }
  run.agents.forEach((a, i) => {
    if (a.code !== 0) {
      problems.push(`agent ${i} exited ${a.code}: ${a.stderr.slice(-1500)}`);
    }
  });
  const received = receivedLeases(run.agents);
  problems.push(...doubleOwners(run.logs, received).slice(0, 20));
  problems.push(...lostCompletions(run.logs, run.agents).slice(0, 20));
  const overlap = run.logs.flat().filter((e) => e.event === "lease_overlap");
  for (const e of overlap.slice(0, 5)) {
    problems.push(`lease_overlap: ${JSON.stringify(e)}`);
  }
  if (!run.logs.flat().some((e) => e.event === "job_drained")) {
    problems.push("no replica logged job_drained");
  }
  return { delivered, leases: received.size, problems };
}
