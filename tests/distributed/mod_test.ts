/**
 * Library loaders in distributed mode (`coordUrl`) against real coordinator
 * processes: they never hang silently; they log through the loader's `log`
 * and fail with typed errors naming the URL, what failed and what to do.
 */
import assert from "node:assert/strict";
import {
  BarrierTimeoutError,
  CoordinatorRefusedError,
  CoordinatorUnreachableError,
  DataLoader,
} from "../../mod.ts";
import { jobFlags, startCoordinator } from "../coordinator/_process.ts";
import { packedDataset } from "../agent/_agents.ts";
import { tempDir } from "../_helpers/tmp.ts";

type Event = { event: string } & Record<string, unknown>;

/** Runs `fn` but fails (instead of hanging the suite) after `limitMs`. */
async function withinLimit<T>(fn: Promise<T>, limitMs = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still waiting after ${limitMs} ms (hang)`)),
      limitMs,
    );
  });
  try {
    return await Promise.race([fn, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("unreachable coordinator: connectTimeoutMs ends the wait with CoordinatorUnreachableError naming the URL; the log shows the retries", async () => {
  const url = `http://127.0.0.1:${closedPort()}`;
  const seen: Event[] = [];
  const loader = new DataLoader("", {
    coordUrl: url,
    jobId: "j",
    nodeId: "lib-a",
    connectTimeoutMs: 1500,
    log: (event, fields) => seen.push({ event, ...fields }),
  });
  const err = await withinLimit(loader.next().catch((e) => e));
  assert.ok(err instanceof CoordinatorUnreachableError, String(err));
  assert.equal(err.url, url);
  assert.match(
    err.message,
    new RegExp(
      `cannot reach the coordinator at ${url} for job j after 1500 ms: connect ECONNREFUSED .*is it running`,
    ),
  );
  assert.ok(
    seen.some((e) => e.event === "coordinator_unreachable" && e.url === url),
    JSON.stringify(seen),
  );
  await loader.close();
});

Deno.test("unmet barrier: barrierTimeoutMs ends the wait with BarrierTimeoutError (R of W, missing); waiting_for_barrier goes to the loader's log", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 20);
  await using coord = await startCoordinator(
    jobFlags(work.path, data, { worldSize: 2, heartbeatMs: 200 }),
  );
  const seen: Event[] = [];
  const loader = new DataLoader("", {
    coordUrl: coord.url,
    jobId: "job",
    nodeId: "lib-a",
    barrierTimeoutMs: 1500,
    log: (event, fields) => seen.push({ event, ...fields }),
  });
  const err = await withinLimit(loader.next().catch((e) => e));
  assert.ok(err instanceof BarrierTimeoutError, String(err));
  assert.deepEqual([err.registeredNodes, err.worldSize], [1, 2]);
  assert.match(
    err.message,
    /membership barrier not met after 1500 ms: 1 of 2 nodes registered, 1 missing/,
  );
  const waits = seen.filter((e) => e.event === "waiting_for_barrier");
  assert.equal(waits.length, 1, JSON.stringify(seen));
  assert.equal(waits[0].missing, 1);
  assert.equal(waits[0].node_id, "lib-a");
  await loader.close();
});

Deno.test("a new node after the membership froze: CoordinatorRefusedError names its id, the members and --node-id", async () => {
  await using work = await tempDir();
  const data = await packedDataset(work.path, 20);
  await using coord = await startCoordinator(
    jobFlags(work.path, data, { worldSize: 1, blockSize: 5 }),
  );
  const member = new DataLoader("", {
    coordUrl: coord.url,
    jobId: "job",
    nodeId: "member-1",
    log: () => {},
  });
  assert.ok(await member.next());
  const late = new DataLoader("", {
    coordUrl: coord.url,
    jobId: "job",
    nodeId: "late-2",
    log: () => {},
  });
  const err = await withinLimit(late.next().catch((e) => e));
  assert.ok(err instanceof CoordinatorRefusedError, String(err));
  assert.match(
    err.message,
    /registration of node late-2 for job job at http:\/\/127\.0\.0\.1:\d+ failed: FailedPrecondition: Membership is frozen: node "late-2" is not one of the 1 members \("member-1"\).*this node's id is "late-2".*--node-id ID/,
  );
  await member.close();
  await late.close();
});
