/**
 * The coordinator's event log: one JSON object per line on stderr, e.g.
 * `{"ts":"2025-01-01T00:00:00.000Z","event":"lease_granted","job_id":"j",…}`.
 * Field names are snake_case.
 *
 * @module
 */
import type { LeaseEvent } from "../lease/types.ts";

/** Names of the events the coordinator logs. */
export type CoordinatorEventName =
  | "coordinator_started"
  | "coordinator_stopping"
  | "grpc_port_fallback"
  | "node_registered"
  | "node_departed"
  | "node_rejoined"
  | "job_ready"
  | "lease_granted"
  | "lease_completed"
  | "lease_expired"
  | "range_requeued"
  | "job_drained"
  | "lease_overlap"
  | "connections_refused"
  | "accept_failed"
  | "connection_limits_unavailable"
  | "leader_elected"
  | "leader_ready"
  | "leader_lost"
  | "fenced_write_rejected"
  | "ha_error";

/** A JSON value an event field may hold. */
export type EventValue = string | number | boolean | null | readonly string[];

/** One event: its name and snake_case fields. */
export interface CoordinatorEvent {
  /** What happened. */
  event: CoordinatorEventName;
  /** Details, snake_case keys. */
  [field: string]: EventValue;
}

/** Receives the coordinator's events. */
export type EventSink = (event: CoordinatorEvent) => void;

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Turns an event of the lease state machine into a log event
 * (`type` → `event`, camelCase fields → snake_case).
 *
 * @param event The state machine's event.
 * @returns The log event.
 *
 * @example Convert an expiry
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromLeaseEvent } from "./events.ts";
 *
 * const e = fromLeaseEvent({
 *   type: "lease_expired", leaseId: "l1", nodeId: "a", startId: 0, endId: 8, cursor: 3,
 * });
 * assert.deepEqual(e, {
 *   event: "lease_expired", lease_id: "l1", node_id: "a", start_id: 0, end_id: 8, cursor: 3,
 * });
 * ```
 */
export function fromLeaseEvent(event: LeaseEvent): CoordinatorEvent {
  const { type, ...fields } = event;
  const out: CoordinatorEvent = { event: type };
  for (const [key, value] of Object.entries(fields)) {
    out[snakeCase(key)] = value as EventValue;
  }
  return out;
}

/**
 * Renders one event as one JSON line (no trailing newline): `ts` (ISO 8601,
 * UTC) first, then `event`, then the fields.
 *
 * @param event The event.
 * @param nowMs When it happened (Unix ms).
 * @returns The line.
 *
 * @example Render an event
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEvent } from "./events.ts";
 *
 * assert.equal(
 *   formatEvent({ event: "job_ready", world_size: 2 }, 0),
 *   '{"ts":"1970-01-01T00:00:00.000Z","event":"job_ready","world_size":2}',
 * );
 * ```
 */
export function formatEvent(event: CoordinatorEvent, nowMs: number): string {
  return JSON.stringify({ ts: new Date(nowMs).toISOString(), ...event });
}

/** Options of {@linkcode jsonLinesSink}. */
export interface JsonLinesSinkOptions {
  /** Writes one line, newline included (default: synchronously to stderr). */
  write?: (line: string) => void;
  /** Clock (default `Date.now`). */
  now?: () => number;
  /** Fields added to every event, e.g. `{ job_id: "j" }`. */
  fields?: Record<string, EventValue>;
}

/**
 * An event sink that writes one JSON line per event, by default to stderr.
 *
 * @param options Where to write, the clock and common fields.
 * @returns The sink.
 *
 * @example Collect lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonLinesSink } from "./events.ts";
 *
 * const lines: string[] = [];
 * const sink = jsonLinesSink({ write: (l) => lines.push(l), now: () => 0, fields: { job_id: "j" } });
 * sink({ event: "job_drained", completed_samples: 4 });
 * assert.equal(JSON.parse(lines[0]).job_id, "j");
 * assert.ok(lines[0].endsWith("}\n"));
 * ```
 */
export function jsonLinesSink(options: JsonLinesSinkOptions = {}): EventSink {
  const write = options.write ?? writeStderr;
  const now = options.now ?? Date.now;
  const fields = options.fields ?? {};
  return (event) => {
    const { event: name, ...rest } = event;
    write(`${formatEvent({ event: name, ...fields, ...rest }, now())}\n`);
  };
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  let bytes = encoder.encode(line);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
}
