/**
 * Polls `GetJobSnapshot` on a fixed cadence and turns each answer into a
 * {@linkcode PollResult}; errors never end the loop (the screen shows them
 * and the next poll retries).
 *
 * @module
 */
import { type Client, ConnectError } from "@connectrpc/connect";
import type {
  Coordinator,
  GetJobSnapshotResponse,
} from "../gen/mx8/v1/coordinator_pb.ts";
import { printable } from "./_format.ts";

/**
 * What the TUI needs from a coordinator client: the typed Connect client of
 * `mx8.v1.Coordinator` (`createCoordinatorClient` in `lib/rpc/client.ts`, or
 * any client over a test transport such as `createRouterTransport`).
 */
export type TuiClient = Client<typeof Coordinator>;

/** The outcome of one poll. */
export type PollResult =
  | { ok: true; snapshot: GetJobSnapshotResponse }
  | { ok: false; error: string };

/**
 * Renders an RPC or I/O error as one printable line.
 *
 * @param err Anything thrown.
 * @returns e.g. `[unavailable] connect ECONNREFUSED 127.0.0.1:9`.
 */
export function errorLine(err: unknown): string {
  let msg = err instanceof ConnectError || err instanceof Error
    ? err.message
    : String(err);
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof Error && !msg.includes(cause.message)) {
    msg += `: ${cause.message}`;
  }
  return printable(msg);
}

/**
 * Asks for one snapshot.
 *
 * @param client Coordinator client.
 * @param jobId Job id.
 * @param timeoutMs Deadline of the call.
 * @returns The snapshot or the error line.
 */
export async function pollSnapshot(
  client: TuiClient,
  jobId: string,
  timeoutMs: number,
): Promise<PollResult> {
  try {
    const snapshot = await client.getJobSnapshot({ jobId }, { timeoutMs });
    return { ok: true, snapshot };
  } catch (err) {
    return { ok: false, error: errorLine(err) };
  }
}

/** Options of {@linkcode pollLoop}. */
export interface PollLoopOptions {
  /** Time between poll starts. */
  intervalMs: number;
  /** Deadline of each call (default max(2000, intervalMs)). */
  timeoutMs?: number;
  /** Stop after this many polls (default: until aborted). */
  count?: number;
  /** Stops the loop (also interrupts the wait between polls). */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms`, or early when the signal aborts.
 *
 * @param ms Milliseconds.
 * @param signal Abort signal.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Polls until `count` polls were made or the signal aborts, one poll every
 * `intervalMs` (measured start to start).
 *
 * @param client Coordinator client.
 * @param jobId Job id.
 * @param options Cadence, deadline, count, abort signal.
 * @yields Each poll's result.
 */
export async function* pollLoop(
  client: TuiClient,
  jobId: string,
  options: PollLoopOptions,
): AsyncGenerator<PollResult> {
  const timeoutMs = options.timeoutMs ?? Math.max(2000, options.intervalMs);
  const count = options.count ?? Infinity;
  for (let i = 0; i < count && !options.signal?.aborted; i++) {
    const started = Date.now();
    yield await pollSnapshot(client, jobId, timeoutMs);
    if (i + 1 < count) {
      await sleep(started + options.intervalMs - Date.now(), options.signal);
    }
  }
}
