import assert from "node:assert/strict";
import { generate } from "../scripts/gen_proto.ts";
import { Coordinator } from "../lib/gen/mx8/v1/coordinator_pb.ts";

Deno.test("committed lib/gen is what gen:proto generates from proto/", async () => {
  const out = await Deno.makeTempDir({ prefix: "mx8-gen-" });
  try {
    await generate(out);
    const rel = "mx8/v1/coordinator_pb.ts";
    const fresh = await Deno.readTextFile(`${out}/${rel}`);
    const committed = await Deno.readTextFile(
      new URL(`../lib/gen/${rel}`, import.meta.url),
    );
    assert.equal(
      committed,
      fresh,
      "lib/gen is stale: run `deno task gen:proto` and commit",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the Coordinator service has the eight RPCs of spec §6", () => {
  assert.deepEqual(Object.keys(Coordinator.method).sort(), [
    "getJobSnapshot",
    "getManifest",
    "getManifestStream",
    "getResumeCheckpoint",
    "heartbeat",
    "registerNode",
    "reportProgress",
    "requestLease",
  ]);
  assert.equal(
    Coordinator.method.getManifestStream.methodKind,
    "server_streaming",
  );
});
