import assert from "node:assert/strict";
import { listTreeNative, TreeListError } from "../../lib/native/list_tree.ts";
import {
  listLocalFiles,
  SKIPPED_TOP_DIRS,
} from "../../lib/snapshot/list_local.ts";
import { nativeLibrary, nativeTest } from "../_helpers/native.ts";
import { tempDir, writeTree } from "../_helpers/tmp.ts";

// Null only when the native tests below are ignored.
const lib = nativeLibrary!;

function entries(root: string) {
  const t = listTreeNative(lib, root, SKIPPED_TOP_DIRS);
  return Array.from({ length: t.count }, (_, i) => ({
    rel: t.paths.slice(t.starts[i], t.starts[i + 1]),
    size: t.sizes[i],
  }));
}

nativeTest(
  "listTreeNative: the same files, order and sizes as listLocalFiles (byte order, nested, non-ASCII, skipped top dirs)",
  async () => {
    await using t = await tempDir();
    await writeTree(t.path, {
      "a.txt": "1",
      "a/b/c.bin": "22",
      "a/z": "333",
      "B/upper": "4444",
      "é/ü.jpg": "55555",
      "\u{1f600}.png": "6",
      "\uff5e.png": "77",
      "_mx8/manifest.tsv": "skipped",
      "shards/x.tar": "skipped",
      "deep/_mx8/kept": "88",
    });
    await Deno.symlink(`${t.path}/a/z`, `${t.path}/link-to-z`);
    await Deno.symlink(`${t.path}/a/b`, `${t.path}/link-to-b`);
    const native = entries(t.path);
    assert.deepEqual(native, await listLocalFiles(t.path));
    assert.deepEqual(native.map((e) => e.rel).slice(0, 4), [
      "B/upper",
      "a.txt",
      "a/b/c.bin",
      "a/z",
    ]);
    assert.ok(native.some((e) => e.rel === "link-to-b/c.bin" && e.size === 2));
  },
);

nativeTest(
  "listTreeNative: a FIFO is skipped like by listLocalFiles; a dangling symlink and a missing root are errors naming the path",
  async () => {
    await using t = await tempDir();
    await writeTree(t.path, { "x/data.bin": "abc" });
    const fifo = await new Deno.Command("mkfifo", {
      args: [`${t.path}/x/pipe`],
    })
      .output();
    assert.ok(fifo.success, "mkfifo");
    assert.deepEqual(entries(t.path), [{ rel: "x/data.bin", size: 3 }]);
    assert.deepEqual(await listLocalFiles(t.path), entries(t.path));
    await Deno.symlink(`${t.path}/nowhere`, `${t.path}/x/dangling`);
    assert.throws(
      () => entries(t.path),
      (e) =>
        e instanceof TreeListError && e.code === "NotFound" &&
        e.action === "stat" && e.path === `${t.path}/x/dangling`,
    );
    assert.throws(
      () => entries(`${t.path}/missing`),
      (e) =>
        e instanceof TreeListError && e.action === "read directory" &&
        e.path === `${t.path}/missing`,
    );
  },
);

nativeTest(
  "listTreeNative: names starting with U+FEFF keep it (offsets stay right)",
  async () => {
    await using t = await tempDir();
    await writeTree(t.path, { "\ufeffa.jpg": "1", "\ufeffb.jpg": "22" });
    assert.deepEqual(entries(t.path), await listLocalFiles(t.path));
    assert.equal(entries(t.path)[0].rel, "\ufeffa.jpg");
  },
);

nativeTest(
  "listTreeNative: errors name the whole path (over 1 KB deep, tabs in names); a name that is not UTF-8 is refused",
  async () => {
    await using t = await tempDir();
    let deep = t.path;
    for (let i = 0; i < 12; i++) deep += "/" + "d".repeat(100);
    await Deno.mkdir(deep, { recursive: true });
    await Deno.symlink(`${t.path}/nowhere`, `${deep}/dangling`);
    assert.throws(
      () => entries(t.path),
      (e) => e instanceof TreeListError && e.path === `${deep}/dangling`,
    );
    await Deno.remove(`${t.path}/${"d".repeat(100)}`, { recursive: true });
    await Deno.symlink(`${t.path}/nowhere`, `${t.path}/bad\tname`);
    assert.throws(
      () => entries(t.path),
      (e) =>
        e instanceof TreeListError && e.path === `${t.path}/bad\tname` &&
        e.action === "stat",
    );
    await Deno.remove(`${t.path}/bad\tname`);
    const made = await new Deno.Command("bash", {
      args: ["-c", `touch "$1"/$'\\xff'.jpg`, "_", t.path],
    }).output();
    assert.ok(made.success, "touch a non-UTF-8 name");
    assert.throws(
      () => entries(t.path),
      (e) =>
        e instanceof TreeListError && e.action === "list" &&
        /not valid UTF-8 \(rename it\)/.test(e.message),
    );
  },
);
