import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { toLeaseMessage, toSafeNumber } from "../../lib/coordinator/convert.ts";

Deno.test("toSafeNumber: uint64 above 2^53 - 1 is InvalidArgument", () => {
  assert.equal(toSafeNumber("Cursor", 0n), 0);
  assert.equal(
    toSafeNumber("Cursor", BigInt(Number.MAX_SAFE_INTEGER)),
    Number.MAX_SAFE_INTEGER,
  );
  assert.throws(
    () => toSafeNumber("Cursor", BigInt(Number.MAX_SAFE_INTEGER) + 1n),
    (err) =>
      err instanceof ConnectError && err.code === Code.InvalidArgument &&
      /Cursor out of range/.test(err.rawMessage),
  );
});

Deno.test("toLeaseMessage carries range, epoch, seed, cursor and expiry", () => {
  const msg = toLeaseMessage({
    leaseId: "l",
    nodeId: "n",
    startId: 4,
    endId: 8,
    epoch: 3,
    seed: 2n ** 63n,
    cursor: 5,
    expiresUnixTimeMs: 1_700_000_000_000,
  });
  assert.deepEqual(
    [msg.range?.startId, msg.range?.endId, msg.range?.epoch, msg.range?.seed],
    [4n, 8n, 3, 2n ** 63n],
  );
  assert.equal(msg.cursor, 5n);
  assert.equal(msg.expiresUnixTimeMs, 1_700_000_000_000n);
});
