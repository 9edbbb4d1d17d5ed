/**
 * The coordinator's metrics in the Prometheus text format (served at
 * `GET /metrics`). Names are exactly the counter names of spec §6, without a
 * prefix or labels: `leases_expired_total 3`.
 *
 * @module
 */
import type { LeaseCounters } from "../lease/types.ts";

/** What {@linkcode renderMetrics} reports. */
export interface MetricsInput {
  /** Counters and gauges of the lease state machine. */
  counters: LeaseCounters;
  /** Whether the barrier is met. */
  jobReady: boolean;
  /** Whether every sample is completed. */
  jobDrained: boolean;
  /** Samples in completed ranges. */
  completedSamples: number;
  /** Samples in the manifest. */
  totalSamples: number;
  /** Configured world size before the barrier; frozen member count after. */
  worldSize: number;
  /** HA gauges and counters, with `--ha-etcd` only. */
  ha?: HaMetrics;
}

/** What an HA replica reports (`--ha-etcd`). */
export interface HaMetrics {
  /** 1 while this replica leads and may act. */
  ha_is_leader: number;
  /** Term (fencing token) of the leader this replica last saw, 0 if none. */
  ha_term: number;
  /** Times this replica was elected. */
  ha_leader_elected_total: number;
  /** Times this replica stopped leading. */
  ha_leader_lost_total: number;
  /** Writes of this replica refused by its clock or by etcd's token compare. */
  ha_fenced_writes_rejected_total: number;
  /** ms from the previous leader's key vanishing to this replica serving, at its last takeover. */
  ha_last_takeover_ms: number;
  /** Fenced state txns this replica committed to etcd as leader. */
  ha_etcd_txns_total: number;
  /** Keys those txns wrote or deleted. */
  ha_etcd_keys_written_total: number;
  /** Takeovers by a new leader since the job started (stored in etcd). */
  ha_failovers: number;
}

/** The HA metrics, in output order (rendered only with `--ha-etcd`). */
export const HA_METRICS: readonly MetricInfo[] = [
  { name: "ha_is_leader", type: "gauge", help: "1 while this replica leads." },
  {
    name: "ha_term",
    type: "gauge",
    help: "Term (fencing token) of the current leader as last seen.",
  },
  {
    name: "ha_leader_elected_total",
    type: "counter",
    help: "Times this replica was elected leader.",
  },
  {
    name: "ha_leader_lost_total",
    type: "counter",
    help: "Times this replica stopped leading.",
  },
  {
    name: "ha_fenced_writes_rejected_total",
    type: "counter",
    help:
      "Writes of this replica refused by its own clock or by etcd's fencing compare.",
  },
  {
    name: "ha_last_takeover_ms",
    type: "gauge",
    help:
      "At this replica's last takeover: ms from the previous leader's key vanishing to serving.",
  },
  {
    name: "ha_etcd_txns_total",
    type: "counter",
    help: "Fenced state txns this replica committed to etcd as leader.",
  },
  {
    name: "ha_etcd_keys_written_total",
    type: "counter",
    help: "Keys written or deleted by those txns.",
  },
  {
    name: "ha_failovers",
    type: "gauge",
    help:
      "Takeovers by a new leader since the job started (stored in etcd, as last read).",
  },
];

/** One metric of {@linkcode METRICS}. */
export interface MetricInfo {
  /** Metric name as exposed. */
  name: string;
  /** Prometheus type. */
  type: "counter" | "gauge";
  /** Help text. */
  help: string;
}

const metric = (
  name: string,
  type: MetricInfo["type"],
  help: string,
): MetricInfo => ({ name, type, help });

/** Every metric, in output order. */
export const METRICS: readonly MetricInfo[] = [
  metric("register_total", "counter", "RegisterNode calls accepted."),
  metric("heartbeat_total", "counter", "Heartbeat calls accepted."),
  metric("request_lease_total", "counter", "RequestLease calls accepted."),
  metric("leases_granted_total", "counter", "Leases granted."),
  metric(
    "leases_expired_total",
    "counter",
    "Leases that expired without completing.",
  ),
  metric(
    "ranges_requeued_total",
    "counter",
    "Ranges put back in the requeue pool (expired remainders and departed nodes' queues).",
  ),
  metric("progress_total", "counter", "ReportProgress calls accepted."),
  metric("active_leases", "gauge", "Leases live right now."),
  metric("registered_nodes", "gauge", "Nodes registered and not departed."),
  metric("job_ready", "gauge", "1 once the membership barrier is met."),
  metric("job_drained", "gauge", "1 once every sample is completed."),
  metric("completed_samples", "gauge", "Samples in completed ranges."),
  metric("total_samples", "gauge", "Samples in the pinned manifest."),
  metric(
    "world_size",
    "gauge",
    "Members of the job (configured value until the barrier).",
  ),
];

/**
 * Renders the metrics as Prometheus text (version 0.0.4): a `# HELP` and a
 * `# TYPE` line, then `name value`, for each metric.
 *
 * @param input Counters and job state.
 * @returns The text, ending with a newline.
 *
 * @example Render and read a counter
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderMetrics } from "./metrics.ts";
 *
 * const text = renderMetrics({
 *   counters: {
 *     register_total: 2, heartbeat_total: 0, request_lease_total: 1,
 *     leases_granted_total: 1, leases_expired_total: 1, ranges_requeued_total: 1,
 *     progress_total: 0, active_leases: 0, registered_nodes: 2,
 *   },
 *   jobReady: true, jobDrained: false, completedSamples: 0, totalSamples: 8, worldSize: 2,
 * });
 * assert.match(text, /^leases_expired_total 1$/m);
 * assert.match(text, /^job_drained 0$/m);
 * ```
 */
export function renderMetrics(input: MetricsInput): string {
  const values: Record<string, number> = {
    ...input.counters,
    job_ready: input.jobReady ? 1 : 0,
    job_drained: input.jobDrained ? 1 : 0,
    completed_samples: input.completedSamples,
    total_samples: input.totalSamples,
    world_size: input.worldSize,
  };
  const lines: string[] = [];
  const ha = input.ha as Record<string, number> | undefined;
  for (const { name, type, help } of [...METRICS, ...(ha ? HA_METRICS : [])]) {
    lines.push(`# HELP ${name} ${help}`);
    lines.push(`# TYPE ${name} ${type}`);
    lines.push(`${name} ${values[name] ?? ha?.[name]}`);
  }
  return `${lines.join("\n")}\n`;
}
