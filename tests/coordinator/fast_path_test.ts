/**
 * The main port's fast path for the per-node RPCs (Connect, unary, binary)
 * over real h2c and HTTP/1.1, as agents send them (Deno fetch, content-length
 * set) and without content-length (HTTP/2 without it, HTTP/1.1 chunked: the
 * body then streams in): same answers as the
 * Connect router gives — empty messages as zero bytes, errors as the
 * Connect JSON with the code's HTTP status.
 */
import assert from "node:assert/strict";
import {
  create,
  type DescMessage,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import { CoordinatorJob } from "../../lib/coordinator/job.ts";
import { serveCoordinator } from "../../lib/coordinator/server.ts";

type Method = keyof typeof Coordinator.method;

function job(): CoordinatorJob {
  return new CoordinatorJob({
    jobId: "j",
    manifestHash: "h",
    manifestBytes: new Uint8Array(),
    totalSamples: 40,
    blockSize: 10,
    datasetRoot: "/data",
    classes: [],
    worldSize: 1,
    leaseTtlMs: 10_000,
    heartbeatIntervalMs: 100,
  });
}

/** One unary Connect call in binary; `streamed` leaves content-length out. */
async function call(
  url: string,
  client: Deno.HttpClient,
  name: Method,
  init: Record<string, unknown>,
  streamed = false,
): Promise<{ status: number; type: string | null; body: Uint8Array }> {
  const method = Coordinator.method[name];
  const bytes = toBinary(
    method.input as DescMessage,
    create(method.input as DescMessage, init),
  );
  const body = streamed
    ? new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    })
    : bytes;
  const res = await fetch(`${url}/${Coordinator.typeName}/${method.name}`, {
    method: "POST",
    headers: { "content-type": "application/proto" },
    body,
    client,
  });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    body: await res.bytes(),
  };
}

for (
  const [http, streamed] of [
    ["h2c", false],
    ["h2c", true],
    ["HTTP/1.1", false],
    ["HTTP/1.1", true],
  ] as const
) {
  const how = streamed ? "without content-length" : "with content-length";
  Deno.test(`fast path over ${http}, ${how}: answers and errors as the router gives them`, async () => {
    using j = job();
    await using server = await serveCoordinator(j, { port: 0 });
    using client = Deno.createHttpClient(
      http === "h2c"
        ? { http2: true, http1: false }
        : { http2: false, http1: true },
    );
    const ok = async (name: Method, init: Record<string, unknown>) => {
      const r = await call(server.url, client, name, init, streamed);
      assert.equal(r.status, 200, new TextDecoder().decode(r.body));
      assert.equal(r.type, "application/proto");
      return fromBinary(
        Coordinator.method[name].output as DescMessage,
        r.body,
      ) as Record<string, unknown>;
    };
    const reg = await ok("registerNode", { jobId: "j", nodeId: "a" });
    assert.equal(reg.jobReady, true);
    assert.equal(reg.totalSamples, 40n);

    // {} answers are zero bytes on the wire.
    const hb = await call(server.url, client, "heartbeat", {
      jobId: "j",
      nodeId: "a",
      stats: { inflightBytes: 7n },
    }, streamed);
    assert.deepEqual([hb.status, hb.type, hb.body.length], [
      200,
      "application/proto",
      0,
    ]);
    assert.equal(j.snapshot().nodes[0].stats?.inflightBytes, 7n);

    const grant = await ok("requestLease", {
      jobId: "j",
      nodeId: "a",
      want: 1,
    });
    const leases = grant.leases as { leaseId: string; range?: unknown }[];
    assert.equal(leases.length, 1);
    const progress = await call(server.url, client, "reportProgress", {
      jobId: "j",
      nodeId: "a",
      leaseId: leases[0].leaseId,
      cursor: 10n,
      deliveredSamples: 10n,
    }, streamed);
    assert.deepEqual([progress.status, progress.body.length], [200, 0]);
    assert.equal(j.snapshot().completedSamples, 10);

    // A refused call: the Connect error JSON with the code's HTTP status.
    const wrong = await call(server.url, client, "heartbeat", {
      jobId: "other",
      nodeId: "a",
    }, streamed);
    assert.equal(wrong.status, 400); // Connect maps failed_precondition to 400
    assert.equal(wrong.type, "application/json");
    const error = JSON.parse(new TextDecoder().decode(wrong.body));
    assert.equal(error.code, "failed_precondition");
    assert.match(error.message, /Wrong job: this coordinator serves "j"/);
  });
}
