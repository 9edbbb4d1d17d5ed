/**
 * `mx8 tui --headless-polls N`: polls N times, prints one status line per
 * poll, then `mx8 tui headless OK lease=true runtime=true manifest=true`
 * (exit 0) once every panel had data, or a `FAILED` line naming the empty
 * panels and the last error (exit 1).
 *
 * Panels: lease = some snapshot had live leases, completed samples or a
 * drained job; runtime = some node reported stats; manifest = manifest rows
 * loaded (coordinator stream, or `--manifest-path` when the stream fails).
 *
 * @module
 */
import {
  type LoadedManifest,
  loadManifest,
  MANIFEST_ROW_LIMIT,
} from "./manifest_source.ts";
import { buildView, type HealthOptions } from "./model.ts";
import { errorLine, pollLoop, type TuiClient } from "./poller.ts";
import { statusLine } from "./status_line.ts";
import { newTracker, trackError, trackSnapshot } from "./tracker.ts";

/** Options of {@linkcode runHeadless}. */
export interface HeadlessOptions {
  /** Coordinator client. */
  client: TuiClient;
  /** Job id. */
  jobId: string;
  /** Polls to make (≥ 1). */
  polls: number;
  /** Time between polls. */
  pollMs: number;
  /** Health thresholds. */
  health: HealthOptions;
  /** Local manifest copy used when the stream fails. */
  manifestPath?: string;
  /** Manifest rows to keep (default 200000). */
  manifestLimit?: number;
  /** How long to wait after the last poll for the manifest (default 30000). */
  manifestWaitMs?: number;
  /** Prints a stdout line (default console.log). */
  out?: (line: string) => void;
  /** Prints a stderr line (default console.error). */
  err?: (line: string) => void;
}

type ManifestOutcome = { ok: true; m: LoadedManifest } | {
  ok: false;
  error: string;
};

/**
 * Runs the headless mode.
 *
 * @param o Options.
 * @returns The exit code: 0 when every panel had data, else 1.
 */
export async function runHeadless(o: HeadlessOptions): Promise<number> {
  const out = o.out ?? console.log;
  const err = o.err ?? console.error;
  const limit = o.manifestLimit ?? MANIFEST_ROW_LIMIT;
  const abort = new AbortController();
  let tracker = newTracker();
  let manifest: ManifestOutcome | undefined;
  let loading: Promise<void> | undefined;
  const startLoad = (manifestHash?: string) => {
    loading = loadManifest(o.client, {
      jobId: o.jobId,
      manifestHash,
      manifestPath: o.manifestPath,
      limit,
      signal: abort.signal,
    }).then(
      (m) => {
        manifest = { ok: true, m };
      },
      (e) => {
        manifest = { ok: false, error: errorLine(e) };
      },
    ).finally(() => {
      loading = undefined;
    });
  };

  let poll = 0;
  for await (
    const r of pollLoop(o.client, o.jobId, {
      intervalMs: o.pollMs,
      count: o.polls,
    })
  ) {
    poll++;
    const now = Date.now();
    tracker = r.ok
      ? trackSnapshot(tracker, r.snapshot, now)
      : trackError(tracker, r.error);
    // (Re)try the manifest after a snapshot gave us its hash.
    if (r.ok && !loading && manifest?.ok !== true) {
      startLoad(r.snapshot.manifestHash);
    }
    out(statusLine(poll, buildView(tracker, o.health, now)));
  }
  if (!loading && manifest === undefined && o.manifestPath) startLoad();
  if (loading) {
    const timer = setTimeout(() => abort.abort(), o.manifestWaitMs ?? 30_000);
    await loading;
    clearTimeout(timer);
  }

  let manifestOk = false;
  let manifestError = "coordinator never answered and no --manifest-path given";
  if (manifest?.ok) {
    const m = manifest.m;
    manifestOk = m.rows.length > 0;
    manifestError = "the manifest has no rows";
    out(
      `manifest source=${m.source}${
        m.path ? ` path=${m.path}` : ""
      } rows=${m.rows.length} truncated=${m.truncated}${
        m.note ? ` note=${JSON.stringify(m.note)}` : ""
      }`,
    );
  } else {
    if (manifest) manifestError = manifest.error;
    out(`manifest rows=0 err=${JSON.stringify(manifestError)}`);
  }

  const lease = tracker.sawLease;
  const runtime = tracker.sawRuntime;
  const flags = `lease=${lease} runtime=${runtime} manifest=${manifestOk}`;
  if (lease && runtime && manifestOk) {
    out(`mx8 tui headless OK ${flags}`);
    return 0;
  }
  out(`mx8 tui headless FAILED ${flags}`);
  const empty: string[] = [];
  if (!lease) {
    empty.push("lease (no live leases, completed samples or drain seen)");
  }
  if (!runtime) empty.push("runtime (no node reported stats)");
  if (!manifestOk) empty.push(`manifest (${manifestError})`);
  const lastError = tracker.lastError ??
    (manifest && !manifest.ok ? manifest.error : undefined) ?? "-";
  err(
    `mx8 tui: error: no data after ${poll} poll(s) for panel(s): ${
      empty.join(", ")
    }; last error: ${lastError}`,
  );
  return 1;
}
