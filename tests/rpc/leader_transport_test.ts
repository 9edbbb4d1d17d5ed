import assert from "node:assert/strict";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { serveCoordinator } from "../../lib/coordinator/server.ts";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { makeManifest } from "../coordinator/_job.ts";

/** A loopback port nobody listens on (bound, then closed). */
function deadUrl(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("leader transport: a server stream retried at the next replica resends its request", async () => {
  const manifest = makeManifest(40);
  const job = new CoordinatorJob({
    jobId: "j",
    manifestHash: manifest.hash,
    manifestBytes: manifest.bytes,
    totalSamples: 40,
    datasetRoot: "/data",
    classes: [],
    worldSize: 1,
    blockSize: 10,
    leaseTtlMs: 5000,
    heartbeatIntervalMs: 500,
  });
  await using server = await serveCoordinator(job, { port: 0 });
  // The first URL refuses the connection (a replica that was killed): the
  // call moves on to the live one, which must get the same request.
  using client = createCoordinatorClient(`${deadUrl()},${server.url}`);
  const chunks = await Array.fromAsync(
    client.getManifestStream({ jobId: "j", manifestHash: manifest.hash }),
  );
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.data.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c.data, (at += c.data.length) - c.data.length);
  }
  assert.deepEqual(bytes, manifest.bytes);
  // And a unary call after it still works (it follows the same replica).
  const snap = await client.getJobSnapshot({ jobId: "j" });
  assert.equal(snap.totalSamples, 40n);
});
