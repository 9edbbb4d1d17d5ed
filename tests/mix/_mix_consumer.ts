/**
 * Test child for the distributed mix kill test: mixes two leased sources
 * (two coordinator jobs) and prints one JSON line per delivered batch
 * (`{"s": source, "ids": [...]}`) after taking it, then `{"done": true}`.
 *
 * `deno run -A _mix_consumer.ts URL_A URL_B NODE_ID SLEEP_MS`
 *
 * @module
 */
import { DataLoader, mix } from "../../mod.ts";

const [urlA, urlB, nodeId, sleepMs] = Deno.args;
const leased = (coordUrl: string, jobId: string) =>
  new DataLoader("", {
    coordUrl,
    jobId,
    nodeId: `${nodeId}-${jobId}`,
    batchSizeSamples: 4,
    log: () => {},
  });
await using m = mix(
  { a: leased(urlA, "mix-a"), b: leased(urlB, "mix-b") },
  {
    weights: { a: 0.7, b: 0.3 },
    seed: 1,
    onSourceExhausted: "allow",
    log: () => {},
  },
);
const enc = new TextEncoder();
for await (const batch of m) {
  const line = JSON.stringify({
    s: Number(batch.sourceIds[0]),
    ids: Array.from(batch.sampleIds, Number),
  });
  Deno.stdout.writeSync(enc.encode(line + "\n"));
  await new Promise((r) => setTimeout(r, Number(sleepMs)));
}
Deno.stdout.writeSync(enc.encode(JSON.stringify({ done: true }) + "\n"));
