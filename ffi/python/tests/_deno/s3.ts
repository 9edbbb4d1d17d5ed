/**
 * Test helper for the Python suite: a real s3rver on 127.0.0.1 with bucket
 * `bucket`, holding the files of a local directory under `PREFIX`. Prints
 * one JSON line, the environment a child process needs to reach it
 * (`MX8_S3_ENDPOINT` + credentials); stops and removes its files when its
 * stdin ends.
 *
 * `deno run -A s3.ts DIR PREFIX`
 *
 * @module
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { relative } from "node:path";
import { startS3 } from "../../../../tests/_helpers/s3rver.ts";

const [dir, prefix] = Deno.args;

async function* files(d: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(d)) {
    const p = `${d}/${e.name}`;
    if (e.isDirectory) yield* files(p);
    else if (e.isFile) yield p;
  }
}

const s3 = await startS3(["bucket"]);
for await (const path of files(dir)) {
  await s3.client.send(
    new PutObjectCommand({
      Bucket: "bucket",
      Key: `${prefix}${relative(dir, path)}`,
      Body: await Deno.readFile(path),
    }),
  );
}
console.log(JSON.stringify(s3.env));
for await (const _ of Deno.stdin.readable) {
  // wait for the end of stdin
}
await s3.stop();
