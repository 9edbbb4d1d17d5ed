import assert from "node:assert/strict";
import * as net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import {
  createCoordinatorClient,
  type RpcProtocol,
} from "../../lib/rpc/client.ts";
import { connectFetchAdapter } from "../../lib/rpc/fetch_adapter.ts";
import { listenHttp } from "../../lib/rpc/serve.ts";
import { Mx8Error } from "../../lib/errors.ts";

function handler(grpcUrl?: string) {
  return connectFetchAdapter({
    routes: (router) =>
      router.service(Coordinator, {
        getJobSnapshot: (req) => ({ jobId: req.jobId, totalSamples: 5n }),
        async *getManifestStream() {
          for (let i = 0; i < 3; i++) {
            yield { data: new Uint8Array(1 << 20).fill(i) };
          }
        },
      }),
    fallback: () =>
      new Response("fallback\n", { headers: { "content-type": "text/plain" } }),
    grpcUrl,
  });
}

Deno.test("listenHttp serves Connect and gRPC-Web on HTTP/1.1 and h2c from one port", async () => {
  await using server = await listenHttp(handler(), {
    hostname: "127.0.0.1",
    port: 0,
  });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const combos: [RpcProtocol, "1.1" | "2"][] = [
    ["connect", "2"],
    ["connect", "1.1"],
    ["grpc-web", "2"],
    ["grpc-web", "1.1"],
  ];
  for (const [protocol, httpVersion] of combos) {
    using client = createCoordinatorClient(server.url, {
      protocol,
      httpVersion,
    });
    for (const call of [1, 2]) {
      // Two calls: HTTP/1.1 connections are kept alive and reused.
      const snap = await client.getJobSnapshot({
        jobId: `${protocol}/${httpVersion}/${call}`,
      });
      assert.equal(snap.jobId, `${protocol}/${httpVersion}/${call}`);
      assert.equal(snap.totalSamples, 5n);
    }
    let bytes = 0;
    for await (const c of client.getManifestStream({})) bytes += c.data.length;
    assert.equal(bytes, 3 << 20, `${protocol}/${httpVersion}`);
  }
  const res = await fetch(`${server.url}/anything`);
  assert.equal(await res.text(), "fallback\n");
});

Deno.test("listenHttp: a gRPC call gets UNIMPLEMENTED naming the gRPC port", async () => {
  await using server = await listenHttp(handler("http://127.0.0.1:9"), {
    hostname: "127.0.0.1",
    port: 0,
  });
  using client = createCoordinatorClient(server.url, { protocol: "grpc" });
  await assert.rejects(
    client.getJobSnapshot({ jobId: "j" }),
    (err) =>
      err instanceof ConnectError && err.code === Code.Unimplemented &&
      err.rawMessage.includes("http://127.0.0.1:9"),
  );
});

Deno.test("listenHttp: close resolves even when an HTTP/2 peer ignores the GOAWAY", async () => {
  const server = await listenHttp(handler(), {
    hostname: "127.0.0.1",
    port: 0,
    closeGraceMs: 300,
  });
  const socket = net.connect(server.port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  socket.on("error", () => {});
  // A preface split across packets still reaches HTTP/2.
  const got: Uint8Array[] = [];
  socket.on("data", (d) => got.push(d));
  socket.write("PRI * HTTP/2.0\r\n");
  await new Promise((r) => setTimeout(r, 50));
  socket.write("\r\nSM\r\n\r\n");
  socket.write(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(got.length > 0, "the server answered with HTTP/2 frames");
  assert.equal(got[0][3], 4, "first frame is SETTINGS");
  const t0 = performance.now();
  await server.close();
  await server.close();
  assert.ok(performance.now() - t0 < 5000);
  socket.destroy();
});

Deno.test("listenHttp: an address in use is an Mx8Error", async () => {
  await using first = await listenHttp(handler(), {
    hostname: "127.0.0.1",
    port: 0,
  });
  await assert.rejects(
    listenHttp(handler(), { hostname: "127.0.0.1", port: first.port }),
    (err) =>
      err instanceof Mx8Error && /address already in use/.test(err.message),
  );
});
