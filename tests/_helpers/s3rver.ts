/**
 * Test helper: an s3rver on 127.0.0.1 with a random port, plus an S3 client
 * and the environment a child `mx8` process needs to reach it.
 *
 * @module
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

/** A running s3rver. */
export interface TestS3 {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** A path-style client for it. */
  client: S3Client;
  /** Env vars for child processes (endpoint + credentials). */
  env: Record<string, string>;
  /** Creates a bucket. */
  createBucket(name: string): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
  /** Same as stop, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/**
 * Starts s3rver and points this process's S3 env vars at it.
 *
 * @param buckets Buckets to create up front.
 * @returns The running server.
 */
export async function startS3(buckets: string[] = []): Promise<TestS3> {
  const directory = await Deno.makeTempDir({ prefix: "mx8-s3rver-" });
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
  });
  const info = await server.run();
  const endpoint = `http://127.0.0.1:${info.port}`;
  const env = {
    MX8_S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
  };
  const saved = Object.fromEntries(
    Object.keys(env).map((k) => [k, Deno.env.get(k)]),
  );
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: CREDENTIALS,
  });
  const createBucket = async (name: string) => {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  };
  for (const b of buckets) await createBucket(b);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.destroy();
    await server.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    await Deno.remove(directory, { recursive: true }).catch(() => {});
  };
  return {
    endpoint,
    client,
    env,
    createBucket,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
