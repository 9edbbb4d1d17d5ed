import assert from "node:assert/strict";
import { Mx8Error } from "../../lib/errors.ts";
import { AUTH_TOKEN_ENV, loadAuthToken } from "../../lib/rpc/token.ts";
import { tempDir } from "../_helpers/tmp.ts";

Deno.test("loadAuthToken: file first, then MX8_AUTH_TOKEN, else off", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/token`;
  await Deno.writeTextFile(file, "  from-file\n");
  const env = (name: string) =>
    name === AUTH_TOKEN_ENV ? "from-env" : undefined;
  assert.equal(await loadAuthToken({ file, env }), "from-file");
  assert.equal(await loadAuthToken({ env }), "from-env");
  assert.equal(await loadAuthToken({ env: () => "  " }), undefined);
  assert.equal(await loadAuthToken({ env: () => undefined }), undefined);
});

Deno.test("loadAuthToken: missing, empty or unprintable tokens are clear errors", async () => {
  await using dir = await tempDir();
  await assert.rejects(
    loadAuthToken({ file: `${dir.path}/missing` }),
    (err) =>
      err instanceof Mx8Error && /missing: no such file/.test(err.message),
  );
  await Deno.writeTextFile(`${dir.path}/empty`, "\n\n");
  await assert.rejects(
    loadAuthToken({ file: `${dir.path}/empty` }),
    /Auth token file .*empty is empty/,
  );
  await Deno.writeTextFile(`${dir.path}/spaces`, "two words");
  await assert.rejects(
    loadAuthToken({ file: `${dir.path}/spaces` }),
    /printable ASCII/,
  );
});
