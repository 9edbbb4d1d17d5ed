import assert from "node:assert/strict";
import { LeaseState } from "../../lib/lease/state.ts";
import { makeState } from "./_helpers.ts";

Deno.test("restore: fresh deadlines on the new clock, same leases, ids not reused", () => {
  const a = makeState({ leaseIdPrefix: "r1-" });
  a.register("x", {}, 0);
  a.register("y", {}, 0);
  const [lease] = a.requestLease("x", 1, 10).leases;
  a.reportProgress("x", lease.leaseId, lease.startId + 4, 4, 0, 20);
  const image = a.image();
  // A new leader's clock is unrelated to the old one.
  const b = LeaseState.restore(
    {
      ...a,
      jobId: "job",
      worldSize: 2,
      checkInvariants: true,
      leaseIdPrefix: "r1-",
    },
    image,
    1_000_000,
  );
  const [restored] = b.liveLeases();
  assert.equal(restored.leaseId, lease.leaseId);
  assert.equal(restored.cursor, lease.startId + 4);
  assert.equal(restored.expiresUnixTimeMs, 1_000_000 + 1000);
  assert.deepEqual(b.image(), image);
  // Nothing expires just because the old leader's clock was far behind.
  assert.deepEqual(
    b.tick(1_000_500).filter((e) => e.type === "lease_expired"),
    [],
  );
  // The holder keeps reporting on its old lease id after the failover.
  b.reportProgress("x", lease.leaseId, lease.endId, 6, 0, 1_000_600);
  const [next] = b.requestLease("x", 1, 1_000_700).leases;
  assert.notEqual(next.leaseId, lease.leaseId);
});

Deno.test("restore: an image that loses samples is refused", () => {
  const a = makeState();
  a.register("x", {}, 0);
  a.register("y", {}, 0);
  const image = a.image();
  image.queues[0].shift(); // a range vanishes
  assert.throws(
    () => LeaseState.restore({ ...a, jobId: "job", worldSize: 2 }, image, 0),
    /does not partition the job/,
  );
});
