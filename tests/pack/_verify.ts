/**
 * Test helper: checks a packed dataset against its source files with GNU
 * tar and the manifest's byte ranges.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { parseLabels } from "../../lib/manifest/labels.ts";
import { labelIdOfHint } from "../../lib/manifest/row.ts";
import { parseManifest } from "../../lib/manifest/tsv.ts";
import { compareUtf8 } from "../../lib/util/bytes_order.ts";
import { tempDir } from "../_helpers/tmp.ts";

/**
 * Deterministic pseudo-random bytes.
 *
 * @param size Length.
 * @param seed Seed.
 * @returns The bytes.
 */
export function bytesOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A dataset of `rel → bytes` with the given sizes spread over classes.
 *
 * @param sizes File sizes.
 * @param classes Class folder names ("" = top level).
 * @returns The files.
 */
export function dataset(
  sizes: number[],
  classes: string[] = ["cat", "dog", "eel"],
): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  sizes.forEach((size, i) => {
    const c = classes[i % classes.length];
    const ext = [".jpg", ".PNG", "", ".tar.gz"][i % 4];
    files[`${c ? c + "/" : ""}f${String(i).padStart(3, "0")}${ext}`] = bytesOf(
      size,
      i + 1,
    );
  });
  return files;
}

async function tar(args: string[]): Promise<string> {
  const out = await new Deno.Command("tar", { args, stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, `tar ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/**
 * Verifies a local packed dataset: GNU tar lists and extracts every shard,
 * every manifest row's byte range equals its source file, labels match the
 * class folders, and no shard exceeds `shardBytes` unless it holds one entry.
 *
 * @param dst Local pack root.
 * @param files Source files (`rel → bytes`).
 * @param expect Whether labels are expected, and the shard size limit.
 * @returns The shard file names.
 */
export async function verifyPacked(
  dst: string,
  files: Record<string, Uint8Array>,
  expect: { labels: boolean; shardBytes?: number },
): Promise<string[]> {
  const rels = Object.keys(files).sort(compareUtf8);
  const rows = parseManifest(
    await Deno.readFile(join(dst, "_mx8/manifest.tsv")),
    "manifest.tsv",
  );
  assert.equal(rows.length, rels.length);
  const shards = (await Array.fromAsync(Deno.readDir(join(dst, "shards"))))
    .map((e) => e.name).sort();
  const shardBytes = new Map<string, Uint8Array>();
  for (const s of shards) {
    shardBytes.set(s, await Deno.readFile(join(dst, "shards", s)));
  }
  const labels = expect.labels
    ? parseLabels(
      await Deno.readFile(join(dst, "_mx8/labels.tsv")),
      "labels.tsv",
    )
    : null;
  if (!expect.labels) {
    await assert.rejects(Deno.stat(join(dst, "_mx8/labels.tsv")));
  }
  const entriesPerShard = new Map<string, string[]>();
  for (const row of rows) {
    const rel = rels[row.sampleId];
    assert.match(row.location, /^shards\/shard-\d{5}\.tar$/);
    const shard = row.location.slice("shards/".length);
    const bytes = shardBytes.get(shard);
    assert.ok(bytes, `${row.location} exists`);
    const got = bytes.subarray(
      row.byteOffset!,
      row.byteOffset! + row.byteLength!,
    );
    assert.equal(row.byteLength, files[rel].length);
    assert.ok(
      Buffer.compare(got, files[rel]) === 0,
      `bytes of ${rel} at ${row.location}:${row.byteOffset}`,
    );
    if (labels) {
      assert.equal(labels[labelIdOfHint(row.decodeHint)!], rel.split("/")[0]);
    } else assert.equal(row.decodeHint, undefined);
    const ext = /[^/]\.[^./]*$/.exec(rel)?.[0].slice(1) ?? "";
    const name = String(row.sampleId).padStart(20, "0") + ext;
    entriesPerShard.set(shard, [...(entriesPerShard.get(shard) ?? []), name]);
  }
  await using x = await tempDir("mx8-untar-");
  for (const s of shards) {
    const path = join(dst, "shards", s);
    const names = entriesPerShard.get(s) ?? [];
    const listing = (await tar(["-tvf", path])).trimEnd().split("\n");
    assert.equal(listing.length, names.length, `entries of ${s}`);
    listing.forEach((line, i) => {
      const [mode, owner, size, date, , name] = line.split(/\s+/);
      assert.equal(mode, "-rw-r--r--");
      assert.equal(owner, "0/0");
      assert.equal(date, "1970-01-01");
      assert.equal(name, names[i]);
      const id = Number(name.slice(0, 20));
      assert.equal(Number(size), files[rels[id]].length);
    });
    if (expect.shardBytes !== undefined && names.length > 1) {
      assert.ok(
        shardBytes.get(s)!.length <= expect.shardBytes,
        `${s} is ${shardBytes.get(s)!.length} > ${expect.shardBytes}`,
      );
    }
    await tar(["-xf", path, "-C", x.path]);
  }
  for (const name of [...entriesPerShard.values()].flat()) {
    const out = await Deno.readFile(join(x.path, name));
    const rel = rels[Number(name.slice(0, 20))];
    assert.ok(Buffer.compare(out, files[rel]) === 0, `extracted ${name}`);
  }
  return shards;
}

/**
 * Reads every file of a local packed dataset (`shards/`, `_mx8/`).
 *
 * @param dir Local pack root.
 * @returns `shards/NAME` or `_mx8/NAME` → bytes.
 */
export async function readPackedTree(
  dir: string,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const sub of ["shards", "_mx8"]) {
    for await (const e of Deno.readDir(`${dir}/${sub}`)) {
      out.set(
        `${sub}/${e.name}`,
        await Deno.readFile(`${dir}/${sub}/${e.name}`),
      );
    }
  }
  return out;
}
