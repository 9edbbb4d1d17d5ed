/**
 * Running this same `mx8` as a child process, whether it is `deno run
 * main.ts` or a `deno compile`d binary.
 *
 * @module
 */
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The command and leading arguments that start `mx8` again.
 *
 * @param args mx8 arguments.
 * @returns `[executable, args]`.
 */
export function selfCommand(args: string[]): [string, string[]] {
  const exe = Deno.execPath();
  if (basename(exe).startsWith("deno")) {
    const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
    return [exe, ["run", "-A", "--unsafe-proto", "--quiet", main, ...args]];
  }
  return [exe, args];
}

/** A child `mx8` process with its output as lines. */
export interface SelfProcess {
  /** The process. */
  child: Deno.ChildProcess;
  /** Resolves with the exit status after all output was read. */
  done: Promise<Deno.CommandStatus>;
}

/**
 * Starts `mx8 …args`, feeding each stdout/stderr line to callbacks.
 *
 * @param args mx8 arguments.
 * @param onStdout Called per stdout line.
 * @param onStderr Called per stderr line.
 * @returns The process.
 */
export function spawnSelf(
  args: string[],
  onStdout: (line: string) => void,
  onStderr: (line: string) => void,
): SelfProcess {
  const [cmd, full] = selfCommand(args);
  const child = new Deno.Command(cmd, {
    args: full,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    fn: (l: string) => void,
  ) => {
    let buf = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buf += text;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        fn(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    if (buf) fn(buf);
  };
  const pumps = Promise.all([
    pump(child.stdout, onStdout),
    pump(child.stderr, onStderr),
  ]);
  const done = pumps.then(() => child.status);
  return { child, done };
}
