/**
 * `mx8 pack --in SRC --out DST`: packs many small files into tar shards and
 * a byte-range manifest.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LABEL_MODES, type LabelMode } from "../pack/label_mode.ts";
import {
  pack,
  type PackProgress,
  SHARD_MB_MAX,
  SHARD_MB_MIN,
} from "../pack/pack.ts";
import { formatProgress } from "../pack/progress.ts";
import { type Command, UsageError } from "./command.ts";

const HELP =
  `mx8 pack — pack many small objects into tar shards + a byte-range manifest

Usage:
  mx8 pack --in SRC --out DST [--shard-mb 512] [--label-mode auto|imagefolder|none]
           [--concurrency N] [--overwrite]

SRC and DST are local directories or s3://bucket/prefix (any combination).
Every file under SRC (sorted by path; _mx8/ and shards/ skipped) becomes one
sample: DST/shards/shard-NNNNN.tar (POSIX ustar) and DST/_mx8/manifest.tsv,
plus DST/_mx8/labels.tsv when samples are labelled. The manifest is written
last: a failed pack leaves no manifest. One pack per DST at a time: a second
one fails naming DST/_mx8/.pack.lock and its holder.

Videos (.mp4 .mkv .webm .mov) keep their index (time base, duration, frame
rate and count, size, codec, keyframe times: read from the container's own
index, not by decoding) in their row's decode_hint (mx8:video;…), so video()
over DST never probes them; without libmx8_video, or for a file FFmpeg cannot
read, the row is only marked mx8:video (named on stderr) and video() probes it.

Options:
  --in SRC               what to pack (required)
  --out DST              where to write (required); DST = SRC packs in place,
                         DST inside SRC is refused
  --shard-mb N           shard size limit in MiB, fractions allowed, 2 KiB..5 TiB
                         (0.001953125..5242880; default 512)
  --label-mode MODE      auto: label by class folder when every file is
                         <class>/<file> and there are ≥ 2 classes (default);
                         imagefolder: require <class>/<file>; none: no labels
  --concurrency N        reads in flight (default 8 from S3; 1 from local disk:
                         local to local, each file is then appended to its
                         shard by the kernel (copy_file_range, via libmx8_ffi;
                         blocking reads without it); raise it for network
                         file systems)
  --overwrite            replace an existing packed dataset at DST (local:
                         the old one stays whole until the new one commits;
                         S3: its manifest is removed first)
  -h, --help             show this help

Output (stdout, last line):
  samples=N shards=K bytes=B manifest_hash=H manifest=DST/_mx8/manifest.tsv
(B = sample bytes.) Progress goes to stderr when it is a terminal.

Environment: MX8_S3_ENDPOINT / AWS_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`;

/** Redraws of the progress line per second, at most. */
const REDRAW_MS = 200;

function positiveNumber(flag: string, text: string | undefined) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a number > 0, got "${text}"`);
  }
  return n;
}

function shardMbFlag(text: string | undefined): number | undefined {
  const n = positiveNumber("--shard-mb", text);
  if (n !== undefined && !(n >= SHARD_MB_MIN && n <= SHARD_MB_MAX)) {
    throw new UsageError(
      `--shard-mb must be a number of MiB in ${SHARD_MB_MIN}..${SHARD_MB_MAX} (2 KiB..5 TiB), got "${text}"`,
    );
  }
  return n;
}

/** Draws progress on a terminal's stderr, at most every 200 ms. */
function terminalProgress(): {
  update(p: PackProgress): void;
  done(): void;
} {
  const enc = new TextEncoder();
  let last = 0;
  let drawn = false;
  const draw = (p: PackProgress) => {
    Deno.stderr.writeSync(enc.encode(`\r\x1b[K${formatProgress(p)}`));
    drawn = true;
  };
  let pending: PackProgress | undefined;
  return {
    update(p) {
      pending = p;
      const now = performance.now();
      if (now - last < REDRAW_MS) return;
      last = now;
      draw(p);
    },
    done() {
      if (pending) draw(pending);
      if (drawn) Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}

/** The `pack` subcommand. */
export const packCommand: Command = {
  name: "pack",
  summary: "pack many small objects into tar shards + byte-range manifest",
  help: HELP,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        in: { type: "string" },
        out: { type: "string" },
        "shard-mb": { type: "string" },
        "label-mode": { type: "string" },
        concurrency: { type: "string" },
        overwrite: { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"`);
    }
    if (!values.in) throw new UsageError("missing --in SRC");
    if (!values.out) throw new UsageError("missing --out DST");
    const labelMode = values["label-mode"] ?? "auto";
    if (!LABEL_MODES.includes(labelMode as LabelMode)) {
      throw new UsageError(
        `--label-mode must be one of ${
          LABEL_MODES.join("|")
        }, got "${labelMode}"`,
      );
    }
    const concurrency = positiveNumber("--concurrency", values.concurrency);
    if (concurrency !== undefined && !Number.isInteger(concurrency)) {
      throw new UsageError(
        `--concurrency must be a whole number, got "${values.concurrency}"`,
      );
    }
    const tty = Deno.stderr.isTerminal() ? terminalProgress() : undefined;
    let result;
    try {
      result = await pack(values.in, {
        out: values.out,
        shardMb: shardMbFlag(values["shard-mb"]),
        labelMode: labelMode as LabelMode,
        concurrency,
        overwrite: values.overwrite ?? false,
        onProgress: tty?.update,
      });
    } finally {
      tty?.done();
    }
    console.log(
      `packed ${result.samples} files (${
        (result.bytes / 1e6).toFixed(1)
      } MB) into ${result.shards} shards` +
        (result.labels > 0 ? ` with ${result.labels} labels` : "") +
        (result.videosIndexed > 0
          ? `, ${result.videosIndexed} videos indexed`
          : "") +
        ` at ${result.manifestPath.replace(/\/_mx8\/manifest\.tsv$/, "")}`,
    );
    for (const v of result.videosNotIndexed) {
      console.error(
        `mx8 pack: video ${v.rel} was not indexed (video() will probe it): ${v.reason}`,
      );
    }
    console.log(
      `samples=${result.samples} shards=${result.shards} bytes=${result.bytes} ` +
        `manifest_hash=${result.manifestHash} manifest=${result.manifestPath}`,
    );
    return 0;
  },
};
