/**
 * Loader resume tokens: manifest hash, order parameters and the position
 * (samples of the plan already handed to the consumer).
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** What a loader checkpoint holds. */
export interface LoaderCheckpoint {
  /** Token format version. */
  v: 1;
  /** The pinned manifest. */
  manifestHash: string;
  /** Epoch of the order. */
  epoch: number;
  /** Seed of the order (decimal string; may exceed 2^53). */
  seed: string;
  /** Whether the order is shuffled. */
  shuffle: boolean;
  /** Start of the id range. */
  startId: number;
  /** End of the id range. */
  endId: number;
  /** Samples of the order already delivered. */
  position: number;
}

/** A resume token is malformed or belongs to another dataset/order. */
export class CheckpointError extends Mx8Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const PREFIX = "mx8ckpt1.";

/**
 * Encodes a checkpoint as an opaque, URL-safe token.
 *
 * @param c The checkpoint.
 * @returns The token.
 */
export function encodeCheckpoint(c: LoaderCheckpoint): string {
  const json = JSON.stringify(c);
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(json)));
  return PREFIX +
    b64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes a token from {@linkcode encodeCheckpoint}.
 *
 * @param token The token.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the token is malformed.
 */
export function decodeCheckpoint(token: string): LoaderCheckpoint {
  if (!token.startsWith(PREFIX)) {
    throw new CheckpointError(
      `resumeFrom is not an MX8 loader checkpoint (expected a token from loader.checkpoint())`,
    );
  }
  try {
    const b64 = token.slice(PREFIX.length).replaceAll("-", "+").replaceAll(
      "_",
      "/",
    );
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const c = JSON.parse(new TextDecoder().decode(bytes)) as LoaderCheckpoint;
    if (
      c.v !== 1 || typeof c.manifestHash !== "string" ||
      !Number.isSafeInteger(c.position) ||
      c.position < 0
    ) throw new Error("bad fields");
    return c;
  } catch {
    throw new CheckpointError(
      `resumeFrom token is corrupt: pass the exact string checkpoint() returned`,
    );
  }
}
