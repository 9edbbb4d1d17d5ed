import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { Mx8Error } from "../../lib/errors.ts";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";

Deno.test("createCoordinatorClient checks the URL and protocol", () => {
  assert.throws(() => createCoordinatorClient("nope"), Mx8Error);
  assert.throws(() => createCoordinatorClient("ftp://h:1"), /expected http/);
  assert.throws(
    () =>
      createCoordinatorClient("http://h:1", {
        protocol: "grpc",
        httpVersion: "1.1",
      }),
    TypeError,
  );
  const client = createCoordinatorClient("http://127.0.0.1:1/");
  assert.equal(client.url, "http://127.0.0.1:1");
  client.close();
  client.close();
});

Deno.test("createCoordinatorClient: an unreachable coordinator is Unavailable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  for (const httpVersion of ["2", "1.1"] as const) {
    using client = createCoordinatorClient(`http://127.0.0.1:${port}`, {
      httpVersion,
    });
    await assert.rejects(client.getJobSnapshot({ jobId: "j" }), (err) => {
      assert.equal(Code[ConnectError.from(err).code], Code[Code.Unavailable]);
      return true;
    });
  }
});
