/**
 * The headless status line (pure): one `key=value` line per poll, stable for
 * scripts and runbooks.
 *
 * @module
 */
import { printable } from "./_format.ts";
import type { JobView } from "./model.ts";

/**
 * Formats one poll as a status line. Values come from the last snapshot
 * received (`-` before the first one); `err` is the poll's error, quoted, or
 * `-` when the poll succeeded.
 *
 * @example A healthy poll
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildView } from "./model.ts";
 * import { statusLine } from "./status_line.ts";
 * import { newTracker } from "./tracker.ts";
 * const v = buildView(newTracker(), { staleHeartbeatMs: 5000, leaseStallMs: 10000 }, 0);
 * assert.match(statusLine(1, v), /^poll=1 health=unknown /);
 * ```
 *
 * @param poll 1-based poll number.
 * @param v The view after that poll.
 * @returns e.g. `poll=1 health=healthy ready=true drained=false nodes=3/3
 * active_leases=2 pool=5 completed=1200/5000 stale=0 max_hb_age_ms=120
 * leases_expired=0 ranges_requeued=0 err=-`; with HA (`--ha-etcd`)
 * `leader=URL term=N failovers=N` come before `err=`.
 */
export function statusLine(poll: number, v: JobView): string {
  const err = v.connected || v.lastError === undefined
    ? "-"
    : JSON.stringify(printable(v.lastError));
  if (!v.hasSnapshot) {
    return `poll=${poll} health=unknown ready=- drained=- nodes=-/- active_leases=- pool=- completed=-/- stale=- max_hb_age_ms=- leases_expired=- ranges_requeued=- err=${err}`;
  }
  return [
    `poll=${poll}`,
    `health=${v.health}`,
    `ready=${v.ready}`,
    `drained=${v.drained}`,
    `nodes=${v.registeredNodes}/${v.worldSize}`,
    `active_leases=${v.activeLeases}`,
    `pool=${v.availableRanges}`,
    `completed=${v.completedSamples}/${v.totalSamples}`,
    `stale=${v.staleNodes}`,
    `max_hb_age_ms=${v.maxHbAgeMs}`,
    `leases_expired=${v.counters?.leasesExpired ?? "-"}`,
    `ranges_requeued=${v.counters?.rangesRequeued ?? "-"}`,
    ...(v.ha === undefined ? [] : [
      `leader=${v.ha.leaderUrl || "none"}`,
      `term=${v.ha.term}`,
      `failovers=${v.ha.failovers}`,
    ]),
    `err=${err}`,
  ].join(" ");
}
