import assert from "node:assert/strict";
import { renewalDue } from "../../lib/distributed/renewal.ts";

Deno.test("renewalDue: renew when the next beat would find the lease past half its TTL", () => {
  assert.equal(renewalDue(0, 10_000, 1000), false);
  assert.equal(renewalDue(3999, 10_000, 1000), false);
  assert.equal(renewalDue(4000, 10_000, 1000), true);
  // A heartbeat interval of half the TTL or more: renew on every beat.
  assert.equal(renewalDue(0, 1000, 500), true);
  assert.equal(renewalDue(0, 1000, 900), true);
});
