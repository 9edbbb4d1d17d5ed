import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { LeaseError } from "../../lib/lease/errors.ts";
import { connectCodeOf, toConnectError } from "../../lib/rpc/errors.ts";

Deno.test("LeaseError codes map one to one onto Connect codes", () => {
  assert.equal(connectCodeOf("invalid_argument"), Code.InvalidArgument);
  assert.equal(connectCodeOf("failed_precondition"), Code.FailedPrecondition);
  assert.equal(connectCodeOf("not_found"), Code.NotFound);
  const err = toConnectError(
    new LeaseError("not_found", 'Lease not found: "x"'),
  );
  assert.equal(err.code, Code.NotFound);
  assert.equal(err.rawMessage, 'Lease not found: "x"');
  assert.ok(err.cause instanceof LeaseError);
});

Deno.test("toConnectError passes ConnectError through and wraps the rest as Internal", () => {
  const ce = new ConnectError("nope", Code.Unauthenticated);
  assert.equal(toConnectError(ce), ce);
  const internal = toConnectError(new Error("boom"));
  assert.equal(internal.code, Code.Internal);
  assert.match(internal.rawMessage, /boom/);
  assert.equal(toConnectError("text").code, Code.Internal);
});
