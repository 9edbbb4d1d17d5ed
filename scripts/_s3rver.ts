/**
 * A throwaway S3-compatible server for the operator scripts
 * (`scripts/prod_readiness.sh`, gate `s3_path`): s3rver on 127.0.0.1 with a
 * random port, files in a temp dir removed on exit.
 *
 * Usage: `deno run -A --unsafe-proto scripts/_s3rver.ts [BUCKET...]`
 *
 * Creates the buckets, prints one line
 * `s3rver ready endpoint=http://127.0.0.1:PORT access_key=S3RVER secret_key=S3RVER`
 * and serves until SIGTERM or SIGINT (exit 0).
 *
 * @module
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

const KEY = "S3RVER";

async function main(buckets: string[]): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "mx8-s3rver-" });
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
  });
  const info = await server.run();
  const endpoint = `http://127.0.0.1:${info.port}`;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: KEY, secretAccessKey: KEY },
  });
  for (const bucket of buckets) {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  client.destroy();
  console.log(
    `s3rver ready endpoint=${endpoint} access_key=${KEY} secret_key=${KEY}`,
  );
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => resolve());
  }
  await stopped;
  await server.close();
  await Deno.remove(directory, { recursive: true }).catch(() => {});
  Deno.exit(0);
}

if (import.meta.main) {
  await main(Deno.args);
}
