/**
 * Test helper: runs `mx8 coordinator` as a real process on a free loopback
 * port and collects its events.
 *
 * @module
 */
import { mx8Args } from "../_helpers/mx8.ts";
import { writeTree } from "../_helpers/tmp.ts";

/** The ready line's fields. */
const READY =
  /^mx8 coordinator ready url=(\S+) job=(\S+) manifest_hash=([0-9a-f]{64}) samples=(\d+) grpc=(\S+)$/;

/** A running coordinator process. */
export interface CoordinatorProcess {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The gRPC port's `http://127.0.0.1:PORT`, or `off`. */
  grpcUrl: string;
  /** Pinned manifest hash from the ready line. */
  manifestHash: string;
  /** Samples from the ready line. */
  samples: number;
  /** Process id. */
  pid: number;
  /** Stderr lines so far. */
  stderrLines(): string[];
  /** JSON events so far. */
  events(): Record<string, unknown>[];
  /** Waits until an event matching `pred` was logged. */
  waitForEvent(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number>;
  /** Same as stop, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Writes a small dataset: `n` files under two class folders.
 *
 * @param root Directory to fill.
 * @param n Number of files.
 */
export async function writeDataset(root: string, n: number): Promise<void> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    files[`${i % 2 ? "dog" : "cat"}/${String(i).padStart(4, "0")}.jpg`] =
      `sample ${i}`;
  }
  await writeTree(root, files);
}

/** Lease and membership flags of a test job (omitted: the coordinator's defaults). */
export interface JobFlagOptions {
  /** `--world-size`. */
  worldSize?: number;
  /** `--block-size`. */
  blockSize?: number;
  /** `--lease-ttl-ms`. */
  leaseTtlMs?: number;
  /** `--heartbeat-ms`. */
  heartbeatMs?: number;
  /** Any other flags, appended. */
  extra?: string[];
}

/**
 * Coordinator flags of job `job` over `dataset`, its manifest store under
 * `dir/store`.
 *
 * @param dir Work directory of the test.
 * @param dataset Dataset link.
 * @param options Optional lease and membership flags.
 * @returns The flags for {@linkcode startCoordinator}.
 */
export function jobFlags(
  dir: string,
  dataset: string,
  options: JobFlagOptions = {},
): string[] {
  const flags = ["--job-id", "job", "--dataset", dataset];
  const named: [string, number | undefined][] = [
    ["--world-size", options.worldSize],
    ["--block-size", options.blockSize],
    ["--lease-ttl-ms", options.leaseTtlMs],
    ["--heartbeat-ms", options.heartbeatMs],
  ];
  for (const [flag, value] of named) {
    if (value !== undefined) flags.push(flag, String(value));
  }
  return [...flags, "--manifest-store", `${dir}/store`, ...options.extra ?? []];
}

/**
 * Starts `mx8 coordinator …args --bind 127.0.0.1:0` and waits for its ready line.
 *
 * @param args Coordinator flags (without --bind).
 * @param env Extra environment.
 * @param options `nofile`: run it under `ulimit -n NOFILE` (through bash,
 * which `exec`s deno, so `pid` is the coordinator's).
 * @returns The running process.
 */
export async function startCoordinator(
  args: string[],
  env: Record<string, string> = {},
  options: { nofile?: number } = {},
): Promise<CoordinatorProcess> {
  const argv = mx8Args(["coordinator", "--bind", "127.0.0.1:0", ...args]);
  const limited = options.nofile !== undefined;
  const child = new Deno.Command(limited ? "bash" : Deno.execPath(), {
    args: limited
      ? [
        "-c",
        `ulimit -n ${options.nofile} && exec "$0" "$@"`,
        Deno.execPath(),
        ...argv,
      ]
      : argv,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const stderrDone = (async () => {
    let buf = "";
    for await (
      const text of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      buf += text;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      for (const w of waiters) w();
    }
    if (buf) lines.push(buf);
  })();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = stdout.getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  reader.releaseLock();
  const stdoutDone = stdout.pipeTo(new WritableStream()).catch(() => {});
  const match = READY.exec(out.split("\n")[0]);
  if (!match) {
    const status = await child.status;
    await stderrDone;
    throw new Error(
      `coordinator did not start (exit ${status.code}):\n${out}\n${
        lines.join("\n")
      }`,
    );
  }
  const events = () =>
    lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  let exit: Promise<number> | undefined;
  const stop = () => {
    exit ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await Promise.all([stderrDone, stdoutDone]);
      return status.code;
    })();
    return exit;
  };
  return {
    url: match[1],
    grpcUrl: match[5],
    manifestHash: match[3],
    samples: Number(match[4]),
    pid: child.pid,
    stderrLines: () => [...lines],
    events,
    async waitForEvent(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const hit = events().find(pred);
        if (hit) return hit;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`event not seen; stderr:\n${lines.join("\n")}`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(left, 200));
          function done() {
            clearTimeout(t);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}
