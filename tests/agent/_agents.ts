/**
 * Test helper: `mx8 agent` processes and a small packed dataset.
 *
 * @module
 */
import { pack } from "../../lib/pack/pack.ts";
import { mx8Args } from "../_helpers/mx8.ts";
import { writeTree } from "../_helpers/tmp.ts";

/** A running agent. */
export interface AgentProcess {
  /** Node id. */
  nodeId: string;
  /** Resolves with exit code, stdout and stderr once it exits. */
  done: Promise<
    { code: number; signal: string | null; stdout: string; stderr: string }
  >;
  /** Kills it. */
  kill(signal?: Deno.Signal): void;
}

/**
 * Starts `mx8 agent`.
 *
 * @param url Coordinator URL.
 * @param nodeId Node id (`""`: no `--node-id`, the agent picks its default).
 * @param extra Extra flags.
 * @param env Extra environment.
 * @returns The process.
 */
export function startAgent(
  url: string,
  nodeId: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): AgentProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: mx8Args([
      "agent",
      "--coord-url",
      url,
      "--job-id",
      "job",
      ...(nodeId === "" ? [] : ["--node-id", nodeId]),
      ...extra,
    ]),
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const dec = new TextDecoder();
  const done = child.output().then((o) => ({
    code: o.code,
    signal: o.signal,
    stdout: dec.decode(o.stdout),
    stderr: dec.decode(o.stderr),
  }));
  return {
    nodeId,
    done,
    kill: (signal = "SIGKILL") => {
      try {
        child.kill(signal);
      } catch { /* gone */ }
    },
  };
}

/**
 * Writes `n` small files in two classes under `raw/` and packs them into `packed/`.
 *
 * @param root Work directory.
 * @param n Samples.
 * @param shardMb Shard size limit in MiB (default 0.002: many small shards).
 * @returns The packed dataset directory.
 */
export async function packedDataset(
  root: string,
  n: number,
  shardMb = 0.002,
): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    files[`${i % 2 ? "dog" : "cat"}/${String(i).padStart(5, "0")}.bin`] =
      `payload-${i}-`.repeat(3);
  }
  await writeTree(`${root}/raw`, files);
  await pack(`${root}/raw`, { out: `${root}/packed`, shardMb });
  return `${root}/packed`;
}

/**
 * Reads an `ids:` sink file.
 *
 * @param path File path.
 * @returns The ids, in file order (missing file = none).
 */
export async function readIds(path: string): Promise<number[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l !== "").map(Number);
}
