/**
 * The destination lock on S3: `_mx8/.pack.lock` written with a conditional
 * put (`If-None-Match: *`, exclusive on AWS S3), then read back after a
 * short pause, which also catches a racing writer on S3-compatible servers
 * that ignore the condition; refreshed by rewriting it (only while ours),
 * checked again before every shard is completed and before the manifest is
 * written. Staleness is judged on the server's clock (the `LastModified` of
 * a probe object written for the purpose), never on this host's.
 *
 * @module
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { isS3PreconditionFailed } from "../s3/errors.ts";
import {
  deleteObject,
  getObjectBytes,
  headObject,
  putObject,
} from "../s3/objects.ts";
import { joinKey } from "../s3/url.ts";
import {
  formatOwner,
  isStale,
  keepRefreshed,
  lockedError,
  lostLockError,
  newOwner,
  PACK_LOCK,
  type PackLock,
  parseOwner,
} from "./lock.ts";

/** Pause between writing the lock and reading it back. */
export const S3_LOCK_SETTLE_MS = 500;

/**
 * Takes the lock of an S3 destination.
 *
 * @param client S3 client.
 * @param bucket Bucket.
 * @param prefix Destination prefix.
 * @returns The held lock.
 * @throws {Mx8Error} When another live pack holds it.
 * @throws {S3Error} When S3 fails.
 */
export async function lockS3(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<PackLock> {
  const key = joinKey(prefix, PACK_LOCK);
  const name = `s3://${bucket}/${key}`;
  const me = newOwner();
  const text = formatOwner(me);
  const holder = async () => {
    const bytes = await getObjectBytes(client, bucket, key);
    return bytes === null ? null : parseOwner(new TextDecoder().decode(bytes));
  };
  const head = await headObject(client, bucket, key);
  if (head !== null) {
    const owner = await holder();
    const now = await serverNow(client, bucket, `${key}.clock-${me.token}`);
    if (owner && !isStale(owner, head.lastModifiedMs, now)) {
      throw lockedError(name, owner);
    }
    await deleteObject(client, bucket, key); // stale: take over
  }
  try {
    await putObject(client, bucket, key, text, { ifNoneMatch: true });
  } catch (err) {
    if (!isS3PreconditionFailed(err)) throw err;
    throw lockedError(name, (await holder()) ?? parseOwner(""));
  }
  await new Promise((r) => setTimeout(r, S3_LOCK_SETTLE_MS));
  const back = await holder();
  if (back?.token !== me.token) throw lockedError(name, back ?? parseOwner(""));
  const ours = async () => (await holder())?.token === me.token;
  const refresher = keepRefreshed(async () => {
    if (!(await ours())) return false;
    await putObject(client, bucket, key, text);
    return true;
  }, () => lostLockError(name));
  return {
    signal: refresher.signal,
    async check() {
      if (!(await ours())) throw lostLockError(name);
    },
    async release() {
      refresher.stop();
      try {
        if (await ours()) await deleteObject(client, bucket, key);
      } catch {
        // Best effort: a lock left behind goes stale.
      }
    },
  };
}

/**
 * The S3 server's "now": the `LastModified` of an object written for the
 * purpose (then deleted), so a skewed local clock never makes a live lock
 * look stale.
 */
async function serverNow(
  client: S3Client,
  bucket: string,
  probeKey: string,
): Promise<number> {
  await putObject(client, bucket, probeKey, "clock probe\n");
  try {
    const head = await headObject(client, bucket, probeKey);
    if (head === null || head.lastModifiedMs === 0) {
      throw new Error(
        `S3 returned no LastModified for s3://${bucket}/${probeKey}`,
      );
    }
    return head.lastModifiedMs;
  } finally {
    await deleteObject(client, bucket, probeKey).catch(() => {});
  }
}
