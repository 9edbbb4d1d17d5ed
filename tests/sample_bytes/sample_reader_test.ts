import assert from "node:assert/strict";
import { SampleReader } from "../../lib/sample_bytes/sample_reader.ts";
import { tempDir } from "../_helpers/tmp.ts";

Deno.test("SampleReader: a shard replaced after it was first read (closed and reopened) is an error naming it, not other bytes", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s0.tar`, "AAAAAAAA");
  await Deno.writeTextFile(`${dir.path}/s1.tar`, "aaaaaaaa");
  const reader = new SampleReader(dir.path, { maxOpenFiles: 1 });
  const read = async (location: string, sampleId: number) => {
    const payload = new Uint8Array(4);
    await reader.readInto(
      [{ sampleId, location, byteOffset: 2, byteLength: 4 }],
      [4],
      payload,
      [0],
    );
    return new TextDecoder().decode(payload);
  };
  try {
    assert.equal(await read("s0.tar", 0), "AAAA");
    assert.equal(await read("s1.tar", 1), "aaaa"); // s0 is closed (1 handle)
    // A repack moves a new file into place under the same name.
    await Deno.writeTextFile(`${dir.path}/new.tar`, "BBBBBBBB");
    await Deno.rename(`${dir.path}/new.tar`, `${dir.path}/s0.tar`);
    await assert.rejects(
      read("s0.tar", 7),
      (err: Error) =>
        err.name === "ReplacedFileError" &&
        err.message.includes(`${dir.path}/s0.tar was replaced`) &&
        err.message.includes("sample 7"),
    );
  } finally {
    await reader.close();
    // Evicted handles are closed after a grace period.
    await new Promise((r) => setTimeout(r, 1100));
  }
});
