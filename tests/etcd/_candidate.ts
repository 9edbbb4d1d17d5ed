/**
 * A real election candidate in its own process, for kill -9 and SIGSTOP
 * drills: `deno run -A _candidate.ts ENDPOINTS PREFIX VALUE TTL_MS`.
 * Prints every election event as one JSON line; each stdin line
 * `write KEY VALUE` does one fenced write and prints its outcome.
 *
 * @module
 */
import { EtcdClient } from "../../lib/etcd/client.ts";
import { campaign } from "../../lib/etcd/election.ts";
import { NotLeaderError } from "../../lib/errors.ts";

const [endpoints, prefix, value, ttl] = Deno.args;
const print = (o: unknown) => console.log(JSON.stringify(o));
const client = new EtcdClient(endpoints.split(","));
const leadership = await campaign(client, prefix, value, {
  ttlMs: Number(ttl),
  onEvent: print,
});
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffer = "";
for await (const chunk of lines) {
  buffer += chunk;
  let nl: number;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    const [cmd, key, val] = buffer.slice(0, nl).split(" ");
    buffer = buffer.slice(nl + 1);
    if (cmd !== "write") continue;
    try {
      await leadership.fencedTxn([], [{ put: { key, value: val } }]);
      print({ write: "ok", key });
    } catch (err) {
      if (!(err instanceof NotLeaderError)) throw err;
      print({ write: "rejected", key, reason: err.reason });
    }
  }
}
