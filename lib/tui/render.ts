/**
 * Full-screen layout (pure): view model + explorer + terminal size → exactly
 * `rows` lines, each exactly `columns` cells wide, so the screen shell can
 * redraw by overwriting lines without clearing (no flicker).
 *
 * Top to bottom: title bar (job, health), alert line (unreachable
 * coordinator or the reasons for the health), overview, progress, nodes,
 * manifest explorer, and a footer with the open prompt or the key help.
 * Without color, problems are still visible as words (`STALE`, `STUCK`,
 * `RSS!`, `UNREACHABLE`).
 *
 * @module
 */
import type { ManifestRow } from "../manifest/row.ts";
import { duration, rate } from "./_format.ts";
import { type Item, kv, Line, section, type Style, wrap } from "./_line.ts";
import {
  nodeHeader,
  nodeIdWidth,
  nodeLine,
  pickNodes,
} from "./_nodes_panel.ts";
import {
  type ExplorerState,
  scrollTop,
  visibleCount,
  visibleRow,
} from "./explorer.ts";
import type { Health, JobView } from "./model.ts";

/** Terminal size in cells. */
export interface Size {
  /** Width. */
  columns: number;
  /** Height. */
  rows: number;
}

/** Where the manifest explorer's rows come from, and how far loading got. */
export interface ManifestPanel {
  /** waiting (no snapshot yet), loading, ready or failed. */
  phase: "waiting" | "loading" | "ready" | "failed";
  /** `stream` (GetManifestStream) or `file` (--manifest-path). */
  source?: "stream" | "file";
  /** The file shown when `source` is `file`. */
  path?: string;
  /** Whether more rows exist than were kept. */
  truncated: boolean;
  /** Row limit. */
  limit: number;
  /** Extra context, e.g. why the file fallback is shown. */
  note?: string;
  /** Why loading failed (phase `failed`). */
  error?: string;
}

/** Everything one frame shows. */
export interface Frame {
  /** The job view. */
  view: JobView;
  /** The explorer. */
  explorer: ExplorerState;
  /** Manifest loading status. */
  manifest: ManifestPanel;
  /** Coordinator URL polled. */
  coordUrl: string;
  /** Job id asked for. */
  jobId: string;
  /** Poll interval. */
  pollMs: number;
}

/** Options of {@linkcode render}. */
export interface RenderOptions {
  /** Emit ANSI colors and attributes (false: plain text). */
  color: boolean;
}

const HEALTH_STYLE: Record<Health, Style> = {
  unknown: "dim",
  stalled: "redBold",
  degraded: "yellowBold",
  warming: "cyan",
  drained: "greenBold",
  healthy: "greenBold",
};

function titleLine(f: Frame): Line {
  const v = f.view;
  const l = new Line("title");
  l.add(" mx8 tui ", "title").add(" job=", "title")
    .add(v.jobId || f.jobId, "title").add("  health=", "title");
  l.add(
    ` ${v.health.toUpperCase()} `,
    v.health === "stalled"
      ? "alert"
      : v.health === "degraded"
      ? "yellowBold"
      : "title",
  );
  l.add(`  coord=${f.coordUrl}  poll=${f.pollMs}ms`, "title");
  if (v.sinceOkMs !== undefined) {
    l.add(`  updated ${duration(v.sinceOkMs)} ago`, "title");
  }
  return l;
}

function alertLine(f: Frame): Line {
  const v = f.view;
  if (!v.connected && v.lastError !== undefined) {
    const l = new Line("alert");
    l.add(` COORDINATOR UNREACHABLE: ${v.lastError}`, "alert");
    l.add(
      ` · retry every ${f.pollMs}ms · ${v.consecutiveErrors} failed · ${
        v.sinceOkMs === undefined
          ? "never ok"
          : `last ok ${duration(v.sinceOkMs)} ago`
      }`,
      "alert",
    );
    return l;
  }
  if (!v.hasSnapshot) {
    return new Line().add(" waiting for the first snapshot…", "dim");
  }
  if (v.reasons.length === 0) {
    return new Line().add(
      " all nodes heartbeating, progress moving",
      "green",
    );
  }
  const more = v.reasons.length > 1 ? ` (+${v.reasons.length - 1} more)` : "";
  return new Line().add(` ${v.health}: `, HEALTH_STYLE[v.health])
    .add(v.reasons[0] + more, HEALTH_STYLE[v.health]);
}

function overviewGroups(v: JobView): Item[][] {
  const th = v.thresholds;
  const state: Item[] = [
    kv("manifest_hash", v.manifestHash || "-"),
    kv("ready", String(v.ready), v.ready ? undefined : "cyan"),
    kv("drained", String(v.drained), v.drained ? "green" : undefined),
    kv(
      "nodes",
      `${v.registeredNodes}/${v.worldSize}`,
      v.registeredNodes < v.worldSize ? "cyan" : undefined,
    ),
    kv("active_leases", v.activeLeases),
    kv("pool", v.availableRanges),
    kv("requeued_ranges", v.requeuedRanges),
  ];
  const liveness: Item[] = [
    kv("stale_nodes", v.staleNodes, v.staleNodes > 0 ? "redBold" : "green"),
    [
      ...kv(
        "max_hb_age_ms",
        v.maxHbAgeMs,
        v.maxHbAgeMs > th.staleHeartbeatMs && !v.drained
          ? "redBold"
          : undefined,
      ),
      { text: ` (stale >${th.staleHeartbeatMs})`, style: "dim" },
    ],
    [
      ...kv(
        "no_progress_ms",
        v.noProgressMs,
        v.noProgressMs >= th.leaseStallMs ? "redBold" : undefined,
      ),
      { text: ` (stall ≥${th.leaseStallMs})`, style: "dim" },
    ],
  ];
  const k = v.counters;
  const counters: Item[] = [[{ text: " counters:", style: "dim" }]];
  if (k) {
    counters.push(
      kv("register", k.register),
      kv("heartbeat", k.heartbeat),
      kv("request_lease", k.requestLease),
      kv("leases_granted", k.leasesGranted),
      kv(
        "leases_expired",
        k.leasesExpired,
        k.leasesExpired ? "yellow" : undefined,
      ),
      kv(
        "ranges_requeued",
        k.rangesRequeued,
        k.rangesRequeued ? "yellow" : undefined,
      ),
      kv("progress", k.progress),
    );
  } else counters.push([{ text: " -", style: "dim" }]);
  const leases: Item[] = [[{ text: " live leases:", style: "dim" }]];
  if (v.leases.length === 0) leases.push([{ text: " none", style: "dim" }]);
  for (const l of v.leases) {
    const it: Item = [{
      text: ` ${l.leaseId}@${l.nodeId}[${l.start},${l.end})→${l.cursor}`,
      style: l.stuck ? "redBold" : undefined,
    }];
    if (l.stuck) {
      it.push({ text: ` STUCK ${duration(l.idleMs)}`, style: "redBold" });
    }
    leases.push(it);
  }
  const groups = [state, liveness, counters, leases];
  if (v.ha !== undefined) {
    groups.splice(1, 0, [
      [{ text: " ha:", style: "dim" }],
      kv(
        "leader",
        v.ha.leaderUrl || "none",
        v.ha.leaderUrl ? "green" : "redBold",
      ),
      kv("term", v.ha.term),
      kv(
        "failovers",
        v.ha.failovers,
        v.ha.failovers > 0 ? "yellow" : undefined,
      ),
    ]);
  }
  return groups;
}

/**
 * The overview, each group on its own lines when that fits in `maxLines`,
 * else flowed together (and cut after `maxLines`).
 */
function overviewLines(v: JobView, width: number, maxLines: number): Line[] {
  const groups = overviewGroups(v);
  const grouped = groups.flatMap((g) => wrap(g, width));
  const chosen = grouped.length <= maxLines
    ? grouped
    : wrap(groups.flat(), width).slice(0, maxLines);
  return chosen.map((items) => {
    const l = new Line();
    for (const it of items) for (const seg of it) l.add(seg.text, seg.style);
    return l;
  });
}

function progressLine(v: JobView, width: number): Line {
  const total = v.totalSamples;
  const pct = total > 0
    ? Math.min(1, v.completedSamples / total)
    : v.drained
    ? 1
    : 0;
  const l = new Line().add(" progress ", "bold")
    .add(`completed=${v.completedSamples}/${total}`)
    .add(` (${(pct * 100).toFixed(1)}%) `);
  const barWidth = Math.max(0, Math.min(30, width - 110));
  if (barWidth >= 5) {
    const full = Math.round(pct * barWidth);
    l.add("[").add("#".repeat(full), "green")
      .add(".".repeat(barWidth - full), "dim").add("] ");
  }
  l.add(
    v.samplesPerSec === undefined
      ? " samples/s=-"
      : ` samples/s=${rate(v.samplesPerSec)}`,
  );
  l.add(
    v.etaMs === undefined ? " eta=-" : ` eta=${duration(v.etaMs)}`,
  );
  return l;
}

function manifestTitle(f: Frame): string {
  const m = f.manifest;
  const e = f.explorer;
  const n = e.rows.length;
  const parts: string[] = [];
  if (m.phase === "waiting") parts.push("waiting for the manifest hash");
  if (m.phase === "loading") parts.push(`loading… ${n} rows`);
  if (m.phase === "failed") parts.push(`unavailable: ${m.error ?? "?"}`);
  if (m.phase === "ready") {
    parts.push(
      m.source === "file"
        ? `source: file ${m.path}`
        : "source: coordinator GetManifestStream",
    );
    parts.push(
      m.truncated ? `first ${n} rows only (row limit ${m.limit})` : `${n} rows`,
    );
  }
  if (e.filter !== "") {
    parts.push(`filter "${e.filter}": ${visibleCount(e)} match`);
  }
  if (visibleCount(e) > 0) {
    parts.push(`row ${e.cursor + 1}/${visibleCount(e)}`);
  }
  return parts.join(" · ");
}

function manifestRowLine(row: ManifestRow, selected: boolean): Line {
  const style: Style | undefined = selected ? "inverse" : undefined;
  const l = new Line(selected ? "inverse" : undefined);
  l.add(" " + String(row.sampleId).padEnd(12), style);
  l.add(
    (row.byteOffset === undefined ? "-" : String(row.byteOffset)).padEnd(13),
    style,
  );
  l.add(
    (row.byteLength === undefined ? "-" : String(row.byteLength)).padEnd(11),
    style,
  );
  l.add(row.location, style);
  if (row.decodeHint) l.add("  " + row.decodeHint, selected ? style : "dim");
  return l;
}

function footer(f: Frame): Line {
  const e = f.explorer;
  if (e.prompt) {
    const label = e.prompt.kind === "filter" ? "/" : "goto sample_id: ";
    return new Line("inverse").add(` ${label}${e.prompt.text}_`, "inverse")
      .add(
        e.prompt.kind === "filter"
          ? "   (Enter keep · Esc cancel)"
          : "   (Enter jump · Esc cancel)",
        "inverse",
      );
  }
  if (e.message) return new Line().add(" " + e.message, "yellow");
  return new Line().add(
    " q quit · j/k ↑/↓ move · PgUp/PgDn page · Home/End · / filter · g goto id · Esc clear filter · r reload manifest",
    "dim",
  );
}

/** Rows that are always there: title, alert, progress, footer, 5 headers. */
const FIXED_ROWS = 9;

/** How many rows each variable panel gets. */
export interface Layout {
  /** Overview lines. */
  overview: number;
  /** Node rows. */
  nodes: number;
  /** Manifest explorer rows (its page size). */
  explorer: number;
}

/**
 * Splits the screen height between the overview, the nodes panel and the
 * explorer: the overview gets up to 6 lines, the nodes panel one row per node
 * while the explorer keeps at least 5, the explorer the rest.
 *
 * @param v The view.
 * @param size Terminal size.
 * @param manifest The manifest panel (a note takes one explorer row).
 * @returns Rows per panel.
 */
export function layout(
  v: JobView,
  size: Size,
  manifest?: ManifestPanel,
): Layout {
  const note = manifest?.note ? 1 : 0;
  const free = Math.max(3, size.rows - FIXED_ROWS - note);
  const wanted = overviewLines(v, Math.max(1, size.columns), Infinity).length;
  const overview = Math.max(1, Math.min(wanted, 6, free - 6));
  const rest = Math.max(2, free - overview);
  const nodes = Math.max(1, Math.min(v.nodes.length, rest - 5));
  return { overview, nodes, explorer: Math.max(1, rest - nodes) };
}

/**
 * Lays out one frame.
 *
 * @example A frame is exactly the terminal size
 * ```ts
 * import assert from "node:assert/strict";
 * import { newExplorer } from "./explorer.ts";
 * import { buildView } from "./model.ts";
 * import { render } from "./render.ts";
 * import { newTracker } from "./tracker.ts";
 * const view = buildView(newTracker(), { staleHeartbeatMs: 5000, leaseStallMs: 10000 }, 0);
 * const lines = render({
 *   view, explorer: newExplorer(), coordUrl: "http://127.0.0.1:1", jobId: "j",
 *   pollMs: 1000, manifest: { phase: "waiting", truncated: false, limit: 10 },
 * }, { columns: 80, rows: 24 }, { color: false });
 * assert.equal(lines.length, 24);
 * assert.ok(lines.every((l) => l.length === 80));
 * ```
 *
 * @param f What to show.
 * @param size Terminal size.
 * @param options Color on or off.
 * @returns `size.rows` strings, each `size.columns` cells wide.
 */
export function render(
  f: Frame,
  size: Size,
  options: RenderOptions,
): string[] {
  const v = f.view;
  const width = Math.max(1, size.columns);
  const rows = layout(v, size, f.manifest);
  const out: Line[] = [titleLine(f), alertLine(f), section("Overview")];
  out.push(...overviewLines(v, width, rows.overview));
  while (out.length < 3 + rows.overview) out.push(new Line());
  out.push(progressLine(v, width));

  const shown = pickNodes(v.nodes, rows.nodes);
  const hidden = v.nodes.length - shown.length;
  out.push(section("Nodes", hidden > 0 ? `(${hidden} more not shown)` : ""));
  const idw = nodeIdWidth(v.nodes);
  out.push(nodeHeader(idw));
  if (v.nodes.length === 0) {
    out.push(new Line().add(" no nodes registered", "dim"));
  }
  for (const n of shown) out.push(nodeLine(n, idw));
  while (out.length < 6 + rows.overview + rows.nodes) out.push(new Line());

  const e = f.explorer;
  out.push(section("Manifest explorer", manifestTitle(f)));
  if (f.manifest.note) {
    out.push(new Line().add(` note: ${f.manifest.note}`, "yellow"));
  }
  out.push(
    new Line().add(
      " " + "SAMPLE_ID".padEnd(12) + "OFFSET".padEnd(13) +
        "LENGTH".padEnd(11) + "LOCATION",
      "bold",
    ),
  );
  const count = visibleCount(e);
  const top = scrollTop(e.cursor, e.top, rows.explorer, count);
  for (let i = 0; i < rows.explorer; i++) {
    const row = visibleRow(e, top + i);
    if (row) out.push(manifestRowLine(row, top + i === e.cursor));
    else if (i === 0 && count === 0) {
      out.push(
        new Line().add(
          e.rows.length > 0
            ? ` no rows match "${e.filter}" (Esc clears the filter)`
            : f.manifest.phase === "failed"
            ? " no manifest rows: pass --manifest-path F to show a local copy"
            : " no manifest rows yet",
          "dim",
        ),
      );
    } else out.push(new Line());
  }
  out.push(footer(f));

  const lines = out.slice(0, size.rows).map((l) =>
    l.toString(width, options.color)
  );
  while (lines.length < size.rows) lines.push(" ".repeat(width));
  return lines;
}
