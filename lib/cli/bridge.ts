/**
 * `mx8 bridge` (hidden): the runtime side of the Python binding. Reads JSON
 * requests on stdin, answers on stdout, hands batches over in shared memory.
 *
 * @module
 */
import { serveBridge } from "../bridge/serve.ts";
import { type Command, UsageError } from "./command.ts";

const HELP = `mx8 bridge — runtime side of the Python binding (internal)

Usage:
  mx8 bridge

Started by the mx8 Python package (ffi/python/mx8), one process per loader
(or per mx8.mix: the open request's "mix" runs mix() over its sources).
Reads one JSON request per line on stdin ({"op":"open",…} first, then
next|release|info|stats|checkpoint|close), answers each on stdout, and places
batches in a shared mapping the consumer maps too. The end of stdin closes the
loader and exits 0. Protocol: docs/python.md.

Environment: MX8_BRIDGE_NATIVE=0 writes batches into the mapping with
positional writes instead of decoding into it through libmx8_ffi.`;

/** The hidden `bridge` subcommand. */
export const bridgeCommand: Command = {
  name: "bridge",
  summary: "runtime side of the Python binding (internal)",
  help: HELP,
  async run(args) {
    if (args.length > 0) {
      throw new UsageError(`unexpected argument "${args[0]}"`);
    }
    const out = Deno.stdout;
    const code = await serveBridge({
      input: Deno.stdin.readable,
      write: async (bytes) => {
        for (let at = 0; at < bytes.byteLength;) {
          at += await out.write(bytes.subarray(at));
        }
      },
      useNative: Deno.env.get("MX8_BRIDGE_NATIVE") !== "0",
    });
    return code;
  },
};
