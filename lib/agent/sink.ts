/**
 * Agent sinks: where delivered batches go. `null` discards, `ids:PATH`
 * appends each sample id (each clip's id and sample id, for video clips) on
 * its own line, `module:PATH` hands each batch to a TypeScript module's
 * default export (the ETL hook).
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Mx8Error, pathError } from "../errors.ts";
import type { RawBatch } from "../loader/data_loader.ts";
import type { ClipBatch } from "../video/clip_batch.ts";

/** What an agent delivers: raw sample bytes, or decoded clips (`--video`). */
export type AgentBatch = RawBatch | ClipBatch;

/** A sink failed to take a batch (a `module:` sink threw, an `ids:` file could not be written). */
export class SinkError extends Mx8Error {
  /** The sink, e.g. `module:/abs/etl.ts`. */
  readonly sink: string;

  /**
   * Creates the error.
   *
   * @param sink The sink's name.
   * @param message What failed.
   * @param options Cause.
   */
  constructor(sink: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SinkError";
    this.sink = sink;
  }
}

/** Context handed to a module sink with each batch. */
export interface SinkContext {
  /** This node's id. */
  nodeId: string;
  /** Job id. */
  jobId: string;
}

/** A batch consumer. */
export interface Sink {
  /** Describes the sink for logs. */
  readonly name: string;
  /** Consumes one batch (awaited before the next is taken). */
  write(batch: AgentBatch): Promise<void>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** The default export a `module:` sink must have. */
export type SinkModuleFn = (
  batch: AgentBatch,
  ctx: SinkContext,
) => unknown | Promise<unknown>;

/**
 * Opens a sink from its spec.
 *
 * @param spec `null`, `ids:PATH` or `module:PATH`.
 * @param ctx Node and job ids for module sinks.
 * @returns The sink.
 * @throws {Mx8Error} On an unknown spec, unwritable file or bad module.
 */
export async function openSink(spec: string, ctx: SinkContext): Promise<Sink> {
  if (spec === "null") {
    return {
      name: "null",
      write: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  if (spec.startsWith("ids:")) {
    const path = spec.slice(4);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { append: true, create: true });
    } catch (err) {
      throw pathError(err, path, "open the ids sink file");
    }
    const enc = new TextEncoder();
    return {
      name: `ids:${path}`,
      async write(batch) {
        const text = idLines(batch);
        const bytes = enc.encode(text);
        let off = 0;
        try {
          while (off < bytes.length) {
            off += await file.write(bytes.subarray(off));
          }
        } catch (err) {
          const e = pathError(err, path, "append to the ids sink file");
          throw new SinkError(`ids:${path}`, e.message, { cause: err });
        }
      },
      close() {
        file.close();
        return Promise.resolve();
      },
    };
  }
  if (spec.startsWith("module:")) {
    const path = resolve(spec.slice(7));
    let mod: { default?: unknown };
    try {
      mod = await import(pathToFileURL(path).href);
    } catch (err) {
      throw new Mx8Error(
        `Cannot load sink module ${path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (typeof mod.default !== "function") {
      throw new Mx8Error(
        `Sink module ${path} has no default export function: write "export default (batch, ctx) => { … }"`,
      );
    }
    const fn = mod.default as SinkModuleFn;
    const name = `module:${path}`;
    return {
      name,
      async write(batch) {
        try {
          await fn(batch, ctx);
        } catch (err) {
          const first = batch.sampleIds[0];
          const last = batch.sampleIds[batch.sampleIds.length - 1];
          throw new SinkError(
            name,
            `sink ${name} threw: ${
              err instanceof Error ? err.message : String(err)
            } (batch of sample ids ${first}..${last}); fix the sink and re-run the agent: ` +
              `the samples it did not finish are leased again`,
            { cause: err },
          );
        }
      },
      close: () => Promise.resolve(),
    };
  }
  throw new Mx8Error(
    `Unknown sink "${spec}": use null, ids:PATH or module:PATH`,
  );
}

/**
 * The `ids:` sink's lines for a batch: one sample id a line, or for clips
 * one line a clip, `<clip id>\t<sample id>\t<start seconds>`.
 *
 * @param batch A delivered batch.
 * @returns The lines, each ending in a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idLines } from "./sink.ts";
 * const clips = {
 *   clipIds: BigInt64Array.of(77n), sampleIds: BigInt64Array.of(3n),
 *   startSeconds: Float64Array.of(0.32),
 * };
 * assert.equal(idLines(clips as never), "77\t3\t0.32\n");
 * ```
 */
export function idLines(batch: AgentBatch): string {
  if ("clipIds" in batch) {
    return Array.from(
      batch.clipIds,
      (id, i) => `${id}\t${batch.sampleIds[i]}\t${batch.startSeconds[i]}\n`,
    ).join("");
  }
  return Array.from(batch.sampleIds, (id) => `${id}\n`).join("");
}
