import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { classifyRpcError } from "../../lib/rpc/error_class.ts";

/** What one registerNode call against `url` throws. */
async function failureOf(
  url: string,
  httpVersion: "1.1" | "2" = "2",
): Promise<unknown> {
  using client = createCoordinatorClient(url, { httpVersion });
  try {
    await client.registerNode({ jobId: "j", nodeId: "n" }, {
      timeoutMs: 5000,
    });
  } catch (err) {
    return err;
  }
  throw new Error(`registerNode against ${url} succeeded`);
}

/** A port nothing listens on (bound, then closed). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("connection refused is transient", async () => {
  const c = classifyRpcError(
    await failureOf(`http://127.0.0.1:${closedPort()}`),
  );
  assert.equal(c.transient, true, c.reason);
  assert.equal(c.code, Code.Unavailable);
});

Deno.test("a port fetch refuses (6000) is permanent and says to use another port", async () => {
  const c = classifyRpcError(await failureOf("http://127.0.0.1:6000"));
  assert.equal(c.transient, false);
  assert.match(c.reason, /refuses to connect to port 6000/);
  assert.match(c.hint, /another port/);
});

Deno.test("an HTTP/1.1-only server is permanent: not a coordinator", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end("no");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as { port: number }).port;
    const h2 = classifyRpcError(await failureOf(`http://127.0.0.1:${port}`));
    assert.equal(h2.transient, false, h2.reason);
    assert.match(h2.reason, /does not speak HTTP\/2/);
    assert.match(h2.hint, /ready line/);
    // Over HTTP/1.1 the same server answers 404: no Coordinator service there.
    const h1 = classifyRpcError(
      await failureOf(`http://127.0.0.1:${port}`, "1.1"),
    );
    assert.equal(h1.transient, false, h1.reason);
    assert.equal(h1.code, Code.Unimplemented);
    assert.match(h1.hint, /no mx8\.v1\.Coordinator service/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

Deno.test("a web server answering HTML is permanent: not a coordinator", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("<html/>", { headers: { "content-type": "text/html" } }),
  );
  const c = classifyRpcError(
    await failureOf(`http://127.0.0.1:${server.addr.port}`),
  );
  assert.equal(c.transient, false, c.reason);
  assert.match(c.reason, /content type/);
});

Deno.test("HTTP 503 from a proxy is transient; codes decide the rest", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("busy", { status: 503 }),
  );
  const c = classifyRpcError(
    await failureOf(`http://127.0.0.1:${server.addr.port}`),
  );
  assert.equal(c.transient, true, c.reason);
  for (
    const [code, transient] of [
      [Code.Unavailable, true],
      [Code.DeadlineExceeded, true],
      [Code.ResourceExhausted, true],
      [Code.Internal, true],
      [Code.Unauthenticated, false],
      [Code.PermissionDenied, false],
      [Code.InvalidArgument, false],
      [Code.FailedPrecondition, false],
      [Code.NotFound, false],
      [Code.Canceled, false],
    ] as const
  ) {
    const got = classifyRpcError(new ConnectError("x", code));
    assert.equal(got.transient, transient, Code[code]);
    if (!transient && code !== Code.Canceled) assert.notEqual(got.hint, "");
  }
});
