/**
 * `mx8 bridge`: runs one loader for a consumer process (the Python binding)
 * and hands its batches over in shared memory, answering the requests of
 * {@link ./protocol.ts} on stdout. The consumer's end of stdin (it exited or
 * died) closes the loader and exits 0, leaving no file behind.
 *
 * @module
 */
import { DECODE_POOL, type ImageBatch } from "../loader/image_folder.ts";
import type { RawBatch } from "../loader/data_loader.ts";
import { loader as openLoader } from "../loader/loader.ts";
import { mix, type MixLoader, type MixSource } from "../mix/mix.ts";
import type { MixOptions } from "../mix/options.ts";
import { LineQueue } from "./lines.ts";
import {
  errorReply,
  imageDescriptor,
  loaderOptionsOf,
  type MixRequest,
  parseOpen,
  parseRequest,
  rawDescriptor,
} from "./protocol.ts";
import { type Placement, SharedBatches } from "./shared_batches.ts";

/** Where the bridge reads requests and writes replies. */
export interface BridgeIo {
  /** Requests, one JSON object per line. */
  input: ReadableStream<Uint8Array>;
  /** Writes reply bytes completely (rejects when the consumer is gone). */
  write(bytes: Uint8Array): Promise<void>;
  /** `false`: positional writes instead of the native pool (tests). */
  useNative?: boolean;
}

type AnyLoader = ReturnType<typeof openLoader> | MixLoader<AnyBatch>;
type AnyBatch = ImageBatch | RawBatch;

const enc = new TextEncoder();

/**
 * Serves one consumer until `close`, the end of its input, or a loader error.
 *
 * @param io Request stream and reply writer.
 * @returns The exit code: 0 after `close` or end of input, 1 when the loader
 * failed, 2 for a bad open request or bad options.
 */
export async function serveBridge(io: BridgeIo): Promise<number> {
  let gone = false;
  let shutdown = () => {};
  // End of input with requests still queued: serve them first (they end
  // with the null that stops the loop); else stop a wait in progress now.
  const lines = new LineQueue(io.input, () => {
    if (lines.queued === 0) shutdown();
  });
  const send = async (msg: Record<string, unknown>, tail?: Uint8Array) => {
    if (gone) return;
    try {
      await io.write(enc.encode(JSON.stringify(msg) + "\n"));
      if (tail && tail.byteLength > 0) await io.write(tail);
    } catch {
      gone = true; // the consumer closed its end
      shutdown();
    }
  };

  const first = await lines.next();
  if (first === null) return 0;
  let loader: AnyLoader;
  let sources: MixSource[] = [];
  let shared: SharedBatches | undefined;
  try {
    const open = parseOpen(first);
    const pool = { [DECODE_POOL]: () => shared?.pool };
    let capBytes: number;
    if (open.mix) {
      const m = openMix(open.mix, pool);
      loader = m.mixed;
      sources = m.sources;
      capBytes = m.mixed.capBytes;
    } else {
      const options = { ...loaderOptionsOf(open.options), ...pool };
      const one = openLoader(
        open.link,
        options as Parameters<typeof openLoader>[1],
      );
      loader = one;
      capBytes = one.stats().maxInflightBytes;
    }
    shared = new SharedBatches(open.shmPath, capBytes, io.useNative ?? true);
  } catch (err) {
    await send(errorReply(err, shared === undefined));
    return 2;
  }
  shutdown = () => void loader.close();
  await send({
    t: "ready",
    shm_path: shared.path,
    shm_bytes: shared.bytes,
    mode: shared.stats().mode,
  });

  let placement: Placement | undefined;
  let held: AnyBatch | null = null;
  let code = 0;
  let firstRequest = true;
  try {
    for (;;) {
      const line = await lines.next();
      if (line === null) break;
      if (firstRequest) {
        firstRequest = false;
        shared.unlink(); // the consumer mapped it before asking anything
      }
      const req = parseRequest(line);
      if (req.op === "close") break;
      if (req.op === "release") {
        placement?.release();
        held?.release();
        await send({ t: "ok" });
      } else if (req.op === "next") {
        placement?.release();
        placement = undefined;
        try {
          held = await loader.next() as AnyBatch | null;
        } catch (err) {
          await send({ ...errorReply(err, false), fatal: true });
          code = 1;
          break;
        }
        if (held === null) {
          await send({ t: "end" });
          continue;
        }
        if ("images" in held) {
          placement = shared.place(held.images.data);
          await send(imageDescriptor(held, placement), placement.inline);
        } else {
          placement = shared.place(held.payload);
          await send(rawDescriptor(held, placement), placement.inline);
        }
      } else if (req.op === "info") {
        try {
          await loader.open();
          // A mix's info names every source: open them all now.
          await Promise.all(sources.map((s) => s.open()));
        } catch (err) {
          await send({ ...errorReply(err, false), fatal: true });
          code = 1;
          break;
        }
        await send(infoReply(loader, sources));
      } else if (req.op === "stats") {
        const s = shared.stats();
        await send({
          t: "stats",
          stats: {
            ...(loader.stats() as object),
            sharedMode: s.mode,
            sharedBytes: s.bytes,
            sharedZeroCopyBatches: s.zeroCopyBatches,
            sharedCopiedBatches: s.copiedBatches,
            sharedInlineBatches: s.inlineBatches,
          },
        });
      } else if (req.op === "checkpoint") {
        try {
          await send({ t: "checkpoint", token: loader.checkpoint() });
        } catch (err) {
          await send({ ...errorReply(err, false), fatal: false });
        }
      }
    }
  } catch (err) {
    await send({ ...errorReply(err, false), fatal: true });
    code = 2;
  } finally {
    placement?.release();
    await loader.close();
    shared.close();
  }
  return code;
}

/**
 * Builds the loaders of a mix request and the mix over them; image sources
 * decode into `pool` (the mapping) through the mix's one decoder.
 */
function openMix(
  m: MixRequest,
  pool: Record<symbol, unknown>,
): { mixed: MixLoader<AnyBatch>; sources: MixSource[] } {
  const sources = m.sources.map((s) =>
    openLoader(
      s.link,
      loaderOptionsOf(s.options) as Parameters<typeof openLoader>[1],
    ) as MixSource
  );
  const given = m.named
    ? Object.fromEntries(m.sources.map((s, i) => [s.name, sources[i]]))
    : sources;
  const options = { ...loaderOptionsOf(m.options), ...pool } as MixOptions;
  const mixed = mix(given, options) as unknown as MixLoader<AnyBatch>;
  return { mixed, sources };
}

/** The `info` reply: a loader's classes and hash, or each mix source's. */
function infoReply(
  loader: AnyLoader,
  sources: MixSource[],
): Record<string, unknown> {
  if (sources.length === 0) {
    const one = loader as ReturnType<typeof openLoader>;
    return {
      t: "info",
      classes: one.classes,
      manifest_hash: one.manifestHash ?? null,
      // Batches the loader delivers in all (null in distributed mode).
      batches: one.plannedBatches ?? null,
    };
  }
  const names = (loader as MixLoader<AnyBatch>).names;
  return {
    t: "info",
    classes: Object.fromEntries(names.map((n, i) => [n, sources[i].classes])),
    manifest_hash: Object.fromEntries(
      names.map((n, i) => [n, sources[i].manifestHash ?? null]),
    ),
    batches: null, // a mix's length is decided by its weights while it runs
  };
}
