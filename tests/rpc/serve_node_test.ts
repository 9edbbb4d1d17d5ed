import assert from "node:assert/strict";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import {
  createCoordinatorClient,
  type RpcProtocol,
} from "../../lib/rpc/client.ts";
import { listenNodeHttp } from "../../lib/rpc/serve_node.ts";
import { Mx8Error } from "../../lib/errors.ts";

function handler() {
  return connectNodeAdapter({
    routes: (router) =>
      router.service(Coordinator, {
        getJobSnapshot: (req) => ({ jobId: req.jobId, totalSamples: 5n }),
      }),
  });
}

Deno.test("listenNodeHttp serves gRPC (h2c), Connect and gRPC-Web from one port", async () => {
  await using server = await listenNodeHttp(handler(), {
    hostname: "127.0.0.1",
    port: 0,
  });
  const combos: [RpcProtocol, "1.1" | "2"][] = [
    ["grpc", "2"],
    ["connect", "2"],
    ["connect", "1.1"],
    ["grpc-web", "1.1"],
  ];
  for (const [protocol, httpVersion] of combos) {
    using client = createCoordinatorClient(server.url, {
      protocol,
      httpVersion,
    });
    const snap = await client.getJobSnapshot({
      jobId: `${protocol}/${httpVersion}`,
    });
    assert.equal(snap.jobId, `${protocol}/${httpVersion}`);
    assert.equal(snap.totalSamples, 5n);
  }
});

Deno.test("listenNodeHttp: an address in use is an Mx8Error", async () => {
  await using first = await listenNodeHttp(handler(), {
    hostname: "127.0.0.1",
    port: 0,
  });
  await assert.rejects(
    listenNodeHttp(handler(), { hostname: "127.0.0.1", port: first.port }),
    (err) =>
      err instanceof Mx8Error && /address already in use/.test(err.message),
  );
});
