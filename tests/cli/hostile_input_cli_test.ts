/**
 * Hostile input through the real CLI: bad label hints, a packed dataset
 * without its labels, file names a manifest row cannot carry, CRLF files,
 * links with other URL schemes.
 */
import assert from "node:assert/strict";
import { lastLine, runMx8 } from "../_helpers/mx8.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";
import { startCoordinator } from "../coordinator/_process.ts";

const RESOLVED = /^manifest_hash=([0-9a-f]{64}) samples=(\d+)$/;

function assertOneLineError(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], re);
  assert.ok(!/\bat .*:\d+:\d+/.test(stderr), "no stack trace");
}

const HINT = "mx8:vision:imagefolder;label_id=";

function manifest(hints: string[]): string {
  return "schema_version=0\n" +
    hints.map((h, i) => `${i}\tf${i}.jpg\t\t\t${h}\n`).join("");
}

Deno.test("mx8 resolve: a malformed label_id names the row", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  for (const bad of [`${HINT}-1`, `${HINT}x`, `${HINT}`]) {
    await writeTree(data.path, {
      "m.tsv": manifest([`${HINT}0`, bad, `${HINT}1`]),
    });
    const res = await runMx8(["resolve", `${data.path}/m.tsv`], {
      MX8_MANIFEST_STORE: st.path,
    });
    assert.equal(res.code, 1, res.stdout);
    assertOneLineError(
      res.stderr,
      new RegExp(`m\\.tsv:3: decode_hint "${bad}" has label_id`),
    );
  }
});

Deno.test("mx8 coordinator: one row without a label in a labelled dataset names the row", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await writeTree(data.path, {
    "m.tsv": manifest([`${HINT}0`, `${HINT}1`, "", `${HINT}1`]),
    "f0.jpg": "0",
    "f1.jpg": "1",
    "f2.jpg": "2",
    "f3.jpg": "3",
  });
  // mx8 resolve pins it (it parses); the loader side refuses it.
  let started: Error | undefined;
  try {
    const coord = await startCoordinator([
      "--job-id",
      "j",
      "--dataset",
      `${data.path}/m.tsv`,
      "--world-size",
      "1",
    ], { MX8_MANIFEST_STORE: st.path });
    await coord.stop();
  } catch (err) {
    started = err as Error;
  }
  assert.ok(started, "the coordinator must refuse the dataset");
  assert.match(
    started.message,
    /:4: sample 2 \(f2\.jpg\) has no label_id in its decode_hint "" but sample 0 has one/,
  );
});

Deno.test("mx8 resolve: a packed dataset whose labels.tsv is missing names the file", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await using st = await tempDir();
  await writeTree(src.path, { "cat/1.jpg": "1", "dog/2.jpg": "22" });
  const packed = await runMx8(["pack", "--in", src.path, "--out", dst.path]);
  assert.equal(packed.code, 0, packed.stderr);
  await Deno.remove(`${dst.path}/_mx8/labels.tsv`);
  const res = await runMx8(["resolve", dst.path], {
    MX8_MANIFEST_STORE: st.path,
  });
  assert.equal(res.code, 1, res.stdout);
  assertOneLineError(
    res.stderr,
    new RegExp(
      `${dst.path}/_mx8/labels\\.tsv is missing, but ${dst.path}/_mx8/manifest\\.tsv labels its samples`,
    ),
  );
});

Deno.test("mx8 resolve: a raw folder with a tab or newline in a name is refused and nothing is stored", async () => {
  for (const name of ["b\tc.jpg", "b\nc.jpg", "b\rc.jpg"]) {
    await using data = await tempDir();
    await using st = await tempDir();
    await writeTree(data.path, { "a/d.jpg": "d", [`a/${name}`]: "x" });
    const res = await runMx8(["resolve", data.path], {
      MX8_MANIFEST_STORE: st.path,
    });
    assert.equal(res.code, 1, res.stdout);
    assertOneLineError(
      res.stderr,
      new RegExp(
        `Cannot index "${data.path}/a/${
          JSON.stringify(name).slice(1, -1).replaceAll("\\", "\\\\")
        }": location .* holds a (tab|newline|CR), which a manifest row cannot carry`,
      ),
    );
    // Nothing unparseable was stored as "current": once the file is gone,
    // the folder resolves.
    await assert.rejects(Deno.stat(`${st.path}/by-hash`));
    await Deno.remove(`${data.path}/a/${name}`);
    const again = await runMx8(["resolve", data.path], {
      MX8_MANIFEST_STORE: st.path,
    });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(RESOLVED.exec(lastLine(again.stdout))?.[2], "1");
  }
});

Deno.test("mx8 resolve: a name that is not UTF-8 says so", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await writeTree(data.path, { "a/d.jpg": "d" });
  // Raw bytes: "e" 0xFF ".jpg" (a Uint8Array path is not possible in Deno,
  // so create it through the shell).
  const made = await new Deno.Command("sh", {
    args: ["-c", `printf x > "$1/a/e$(printf '\\377').jpg"`, "sh", data.path],
  }).output();
  assert.equal(made.code, 0);
  const res = await runMx8(["resolve", data.path], {
    MX8_MANIFEST_STORE: st.path,
  });
  assert.equal(res.code, 1, res.stdout);
  assertOneLineError(
    res.stderr,
    new RegExp(
      `Cannot list ${data.path}/a/e\uFFFD\\.jpg: its name is not valid UTF-8 \\(rename it\\)`,
    ),
  );
});

Deno.test("mx8 resolve: CRLF manifests give the LF manifest's hash", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  const lf = manifest([`${HINT}0`, `${HINT}1`]);
  await writeTree(data.path, {
    "lf.tsv": lf,
    "crlf.tsv": lf.replaceAll("\n", "\r\n"),
  });
  const env = { MX8_MANIFEST_STORE: st.path };
  const a = await runMx8(["resolve", `${data.path}/lf.tsv`], env);
  const b = await runMx8(["resolve", `${data.path}/crlf.tsv`], env);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(lastLine(b.stdout), lastLine(a.stdout));
});

Deno.test("mx8 resolve: URL links other than s3:// are refused or read as file URLs", async () => {
  await using data = await tempDir();
  await using st = await tempDir();
  await writeTree(data.path, { "a.jpg": "a" });
  const env = { MX8_MANIFEST_STORE: st.path };
  const cases: [string, RegExp][] = [
    [
      "s3://",
      /Dataset link "s3:\/\/" has no bucket: write s3:\/\/bucket\/prefix/,
    ],
    ["s3:///x@refresh", /has no bucket/],
    ["http://example.invalid/data", /uses http:\/\/, which MX8 does not read/],
    ["https://h/x@refresh", /uses https:\/\//],
    ["file://remote-host/data", /is not a local file URL/],
  ];
  for (const [link, re] of cases) {
    const res = await runMx8(["resolve", link], env);
    assert.equal(res.code, 1, `${link}: ${res.stdout}`);
    assertOneLineError(res.stderr, re);
  }
  const plain = await runMx8(["resolve", data.path], env);
  const url = await runMx8(["resolve", `file://${data.path}`], env);
  assert.equal(url.code, 0, url.stderr);
  assert.equal(lastLine(url.stdout), lastLine(plain.stdout));
  assert.match(url.stdout, new RegExp(`base=${data.path} `));
});
