/**
 * The full-screen TUI: wires the poller, the manifest loader, key input and
 * resize signals to the pure model/explorer/render cores, and draws frames on
 * a {@linkcode Screen}. The terminal is restored on `q`, Ctrl-C, SIGINT,
 * SIGTERM, SIGHUP, end of input, and on any error.
 *
 * @module
 */
import {
  type ExplorerState,
  newExplorer,
  reduceExplorer,
  withRows,
} from "./explorer.ts";
import { actionFor, parseKeys } from "./keys.ts";
import { loadManifest, MANIFEST_ROW_LIMIT } from "./manifest_source.ts";
import { buildView, type HealthOptions } from "./model.ts";
import { errorLine, pollLoop, type TuiClient } from "./poller.ts";
import { layout, type ManifestPanel, render } from "./render.ts";
import { Screen, type Terminal } from "./screen.ts";
import {
  newTracker,
  type Tracker,
  trackError,
  trackSnapshot,
} from "./tracker.ts";

/** Options of {@linkcode runFullScreen}. */
export interface FullScreenOptions {
  /** Coordinator client. */
  client: TuiClient;
  /** Coordinator URL (shown in the title). */
  coordUrl: string;
  /** Job id. */
  jobId: string;
  /** Time between polls. */
  pollMs: number;
  /** Health thresholds. */
  health: HealthOptions;
  /** Local manifest copy used when the stream fails. */
  manifestPath?: string;
  /** Manifest rows to keep (default 200000). */
  manifestLimit?: number;
  /** Emit colors (default: unless NO_COLOR is set). */
  color?: boolean;
  /** Terminal to draw on (default: the process's). */
  terminal?: Terminal;
  /** Key bytes (default: stdin). */
  input?: ReadableStream<Uint8Array>;
  /** Listen to SIGWINCH/SIGINT/SIGTERM/SIGHUP (default true). */
  signals?: boolean;
}

/** How long a failed manifest load waits before the next automatic try. */
const MANIFEST_RETRY_MS = 10_000;
/** Redraw cadence for clocks ("updated N s ago") between polls. */
const TICK_MS = 1_000;

/**
 * Runs the full-screen TUI until the operator quits.
 *
 * @param o Options.
 * @returns The exit code (0).
 */
export async function runFullScreen(o: FullScreenOptions): Promise<number> {
  const color = o.color ?? Deno.env.get("NO_COLOR") === undefined;
  const limit = o.manifestLimit ?? MANIFEST_ROW_LIMIT;
  const stop = new AbortController();
  let tracker: Tracker = newTracker();
  let explorer: ExplorerState = newExplorer();
  let manifest: ManifestPanel = { phase: "waiting", truncated: false, limit };
  let loadedHash: string | undefined;
  let loading: AbortController | undefined;
  let lastLoadFailAt = -Infinity;

  let quit!: () => void;
  const quitting = new Promise<void>((r) => (quit = r));
  let failure: unknown;
  const fail = (e: unknown) => {
    failure ??= e;
    quit();
  };

  const screen = new Screen(o.terminal);
  const frame = () => {
    const now = Date.now();
    return {
      view: buildView(tracker, o.health, now),
      explorer,
      manifest,
      coordUrl: o.coordUrl,
      jobId: o.jobId,
      pollMs: o.pollMs,
    };
  };
  const redraw = () => {
    try {
      screen.draw(render(frame(), screen.size(), { color }));
    } catch (e) {
      fail(e);
    }
  };
  const explorerPage = () =>
    layout(buildView(tracker, o.health, Date.now()), screen.size(), manifest)
      .explorer;

  const startLoad = (hash: string | undefined) => {
    loading?.abort();
    const ctl = new AbortController();
    loading = ctl;
    loadedHash = hash;
    manifest = { ...manifest, phase: "loading", error: undefined };
    loadManifest(o.client, {
      jobId: o.jobId,
      manifestHash: hash,
      manifestPath: o.manifestPath,
      limit,
      signal: ctl.signal,
    }).then((m) => {
      if (ctl.signal.aborted) return;
      explorer = withRows(explorer, m.rows);
      manifest = {
        phase: "ready",
        source: m.source,
        path: m.path,
        truncated: m.truncated,
        limit,
        note: m.note,
      };
    }, (e) => {
      if (ctl.signal.aborted) return;
      lastLoadFailAt = Date.now();
      manifest = {
        ...manifest,
        phase: explorer.rows.length > 0 ? manifest.phase : "failed",
        error: errorLine(e),
        note: explorer.rows.length > 0
          ? `reload failed: ${errorLine(e)}`
          : undefined,
      };
    }).finally(() => {
      if (loading === ctl) loading = undefined;
      redraw();
    });
  };

  const maybeLoad = () => {
    const hash = tracker.snapshot?.manifestHash || undefined;
    if (loading) return;
    if (manifest.phase === "ready" && hash === loadedHash) return;
    if (manifest.phase === "ready" && hash === undefined) return;
    if (
      manifest.phase === "failed" &&
      Date.now() - lastLoadFailAt < MANIFEST_RETRY_MS && hash === loadedHash
    ) return;
    if (hash === undefined && !o.manifestPath) return;
    startLoad(hash);
  };

  const onKeys = (bytes: Uint8Array) => {
    for (const key of parseKeys(bytes)) {
      const action = actionFor(key, explorer.prompt !== undefined);
      if (action.type === "quit") return quit();
      if (action.type === "redraw") screen.invalidate();
      else if (action.type === "reload") {
        startLoad(tracker.snapshot?.manifestHash || undefined);
      } else explorer = reduceExplorer(explorer, action, explorerPage());
    }
    redraw();
  };

  const signals: [Deno.Signal, () => void][] = [];
  if (o.signals ?? true) {
    signals.push(["SIGWINCH", () => {
      screen.invalidate();
      redraw();
    }]);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      signals.push([sig, quit]);
    }
    for (const [sig, fn] of signals) Deno.addSignalListener(sig, fn);
  }

  const input = o.input ?? Deno.stdin.readable;
  const reader = input.getReader();
  const tick = setInterval(redraw, TICK_MS);
  try {
    redraw();
    (async () => {
      while (!stop.signal.aborted) {
        const { done, value } = await reader.read();
        if (done) return quit();
        onKeys(value);
      }
    })().catch(fail);
    (async () => {
      for await (
        const r of pollLoop(o.client, o.jobId, {
          intervalMs: o.pollMs,
          signal: stop.signal,
        })
      ) {
        if (stop.signal.aborted) return;
        tracker = r.ok
          ? trackSnapshot(tracker, r.snapshot, Date.now())
          : trackError(tracker, r.error);
        maybeLoad();
        redraw();
      }
    })().catch(fail);
    maybeLoad();
    await quitting;
  } finally {
    stop.abort();
    loading?.abort();
    clearInterval(tick);
    for (const [sig, fn] of signals) Deno.removeSignalListener(sig, fn);
    screen.restore();
    reader.cancel().catch(() => {});
  }
  if (failure !== undefined) throw failure;
  return 0;
}
