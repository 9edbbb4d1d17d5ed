import assert from "node:assert/strict";
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import { Coordinator } from "../../lib/gen/mx8/v1/coordinator_pb.ts";
import {
  bearerTokenOf,
  requireBearerToken,
  secretsEqual,
  sendBearerToken,
} from "../../lib/rpc/auth.ts";

Deno.test("bearerTokenOf parses Bearer headers only", () => {
  assert.equal(bearerTokenOf("Bearer abc"), "abc");
  assert.equal(bearerTokenOf("bearer   abc  "), "abc");
  assert.equal(bearerTokenOf("Bearer"), undefined);
  assert.equal(bearerTokenOf("Basic abc"), undefined);
  assert.equal(bearerTokenOf(null), undefined);
});

Deno.test("secretsEqual compares exactly", () => {
  assert.equal(secretsEqual("a", "a"), true);
  assert.equal(secretsEqual("a", "b"), false);
  assert.equal(secretsEqual("a", "aa"), false);
  assert.equal(secretsEqual("", ""), true);
});

Deno.test("requireBearerToken + sendBearerToken: only the right token passes", async () => {
  let calls = 0;
  const routes = (
    router: Parameters<Parameters<typeof createRouterTransport>[0]>[0],
  ) =>
    router.service(Coordinator, {
      getJobSnapshot: () => {
        calls++;
        return { jobId: "j" };
      },
    });
  const client = (token?: string, header?: string) =>
    createClient(
      Coordinator,
      createRouterTransport(routes, {
        router: { interceptors: [requireBearerToken("s3cret")] },
        transport: {
          interceptors: [
            ...(token ? [sendBearerToken(token)] : []),
            ...(header
              ? [
                (next: Parameters<ReturnType<typeof sendBearerToken>>[0]) =>
                (req: Parameters<typeof next>[0]) => {
                  req.header.set("authorization", header);
                  return next(req);
                },
              ]
              : []),
          ],
        },
      }),
    );
  for (
    const [c, re] of [
      [client(), /Missing auth token/],
      [client("wrong"), /Wrong auth token/],
      [client(undefined, "Basic czNjcmV0"), /Malformed Authorization header/],
    ] as const
  ) {
    await assert.rejects(c.getJobSnapshot({ jobId: "j" }), (err) => {
      const ce = ConnectError.from(err);
      assert.equal(ce.code, Code.Unauthenticated);
      assert.match(ce.rawMessage, re);
      return true;
    });
  }
  assert.equal(calls, 0, "the handler never ran");
  assert.equal(
    (await client("s3cret").getJobSnapshot({ jobId: "j" })).jobId,
    "j",
  );
  assert.equal(calls, 1);
  assert.throws(() => requireBearerToken(""), RangeError);
  assert.throws(() => sendBearerToken(""), RangeError);
});
