/**
 * Error classes callers of MX8 catch. Each message names the thing that is
 * wrong and what to do about it; the CLI prints `message` on one line and
 * exits 1, never a stack trace.
 *
 * @module
 */

/** Base class of every error MX8 raises for bad input or a failing dependency. */
export class Mx8Error extends Error {
  /**
   * Creates an MX8 error.
   *
   * @param message What went wrong and what to do about it.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "Mx8Error";
  }
}

/** A manifest or labels file is malformed (names the file, line and reason). */
export class ManifestError extends Mx8Error {
  /** File (or other source) the bad text came from. */
  readonly file: string;
  /** 1-based line number, or 0 when the problem is not on one line. */
  readonly line: number;

  /**
   * Creates a manifest error rendered as `file:line: reason`.
   *
   * @param file Where the manifest came from.
   * @param line 1-based line number, 0 for whole-file problems.
   * @param reason What is wrong with it.
   */
  constructor(file: string, line: number, reason: string) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = "ManifestError";
    this.file = file;
    this.line = line;
  }
}

/** A dataset link is malformed. */
export class LinkError extends Mx8Error {
  /**
   * Creates a link error.
   *
   * @param message What is wrong with the link.
   */
  constructor(message: string) {
    super(message);
    this.name = "LinkError";
  }
}

/** A pinned `@sha256:` snapshot is not in the manifest store. */
export class SnapshotNotFoundError extends Mx8Error {
  /** The manifest hash that was asked for. */
  readonly manifestHash: string;
  /** The store root that was searched. */
  readonly storeRoot: string;

  /**
   * Creates a snapshot-not-found error.
   *
   * @param manifestHash The hash that is missing.
   * @param storeRoot The store that was searched.
   */
  constructor(manifestHash: string, storeRoot: string) {
    super(
      `Manifest sha256:${manifestHash} is not in the manifest store ${storeRoot}: ` +
        `pass the store that holds it with --manifest-store (or MX8_MANIFEST_STORE), ` +
        `or resolve the dataset without @sha256 to index it`,
    );
    this.name = "SnapshotNotFoundError";
    this.manifestHash = manifestHash;
    this.storeRoot = storeRoot;
  }
}

/** The manifest store refused an operation (conflict, bad key, I/O failure). */
export class StoreError extends Mx8Error {
  /**
   * Creates a store error.
   *
   * @param message What failed and where.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** An S3 request failed; names the operation, bucket, key and S3 error code. */
export class S3Error extends Mx8Error {
  /** S3 operation, e.g. `GetObject`. */
  readonly operation: string;
  /** Bucket of the request. */
  readonly bucket: string;
  /** Key (or prefix) of the request. */
  readonly key: string;
  /** S3 error code (`NoSuchKey`, `AccessDenied`, ...) or the network error name. */
  readonly code: string;
  /** HTTP status when the server answered, else 0. */
  readonly status: number;

  /**
   * Creates an S3 error.
   *
   * @param init Operation, bucket, key, code, HTTP status and detail text.
   * @param options Standard error options (`cause`).
   */
  constructor(
    init: {
      operation: string;
      bucket: string;
      key: string;
      code: string;
      status: number;
      detail: string;
    },
    options?: ErrorOptions,
  ) {
    super(
      `S3 ${init.operation} s3://${init.bucket}/${init.key} failed: ${init.code}` +
        (init.status ? ` (HTTP ${init.status})` : "") +
        (init.detail ? `: ${init.detail}` : ""),
      options,
    );
    this.name = "S3Error";
    this.operation = init.operation;
    this.bucket = init.bucket;
    this.key = init.key;
    this.code = init.code;
    this.status = init.status;
  }
}

/** A local file or directory cannot be read or written. */
export class PathError extends Mx8Error {
  /** The path involved. */
  readonly path: string;

  /**
   * Creates a path error.
   *
   * @param path The file or directory.
   * @param message What failed and what to do.
   * @param options Standard error options (`cause`).
   */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PathError";
    this.path = path;
  }
}

/**
 * Turns a Deno file-system error into a {@linkcode PathError} that names the
 * path and the fix.
 *
 * @param err The caught error.
 * @param path The path the operation used.
 * @param action What was being done, e.g. `read`.
 * @returns A PathError (or `err` itself when it is already an Mx8Error).
 */
export function pathError(err: unknown, path: string, action: string): Error {
  if (err instanceof Mx8Error) return err;
  if (err instanceof Deno.errors.NotFound) {
    return new PathError(
      path,
      `Cannot ${action} ${path}: no such file or directory`,
      {
        cause: err,
      },
    );
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new PathError(
      path,
      `Cannot ${action} ${path}: permission denied (check its owner and mode)`,
      { cause: err },
    );
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new PathError(path, `Cannot ${action} ${path}: ${msg}`, {
    cause: err,
  });
}

/**
 * etcd refused a request or could not be reached; names the endpoint, the
 * gateway path and etcd's gRPC status code (14 UNAVAILABLE for network
 * failures, 4 DEADLINE_EXCEEDED for timeouts).
 */
export class EtcdError extends Mx8Error {
  /** gRPC status code etcd answered (or 14/4 for network failure/timeout). */
  readonly code: number;
  /** Gateway path, e.g. `/v3/kv/txn`. */
  readonly path: string;
  /** Endpoint(s) the request went to. */
  readonly endpoint: string;

  /**
   * Creates an etcd error.
   *
   * @param init Code, path, endpoint and etcd's message.
   * @param options Standard error options (`cause`).
   */
  constructor(
    init: { code: number; path: string; endpoint: string; message: string },
    options?: ErrorOptions,
  ) {
    super(
      `etcd ${init.endpoint}${init.path} failed (code ${init.code}): ${init.message}`,
      options,
    );
    this.name = "EtcdError";
    this.code = init.code;
    this.path = init.path;
    this.endpoint = init.endpoint;
  }
}

/**
 * A coordinator replica acted as leader but no longer is: its lease lapsed
 * on its own clock, or etcd rejected a fenced write because another replica
 * took over. The replica steps down; callers retry against the leader.
 */
export class NotLeaderError extends Mx8Error {
  /** Why leadership ended: `expired`, `fenced`, `keepalive`, `resigned`. */
  readonly reason: string;

  /**
   * Creates a not-leader error.
   *
   * @param reason Why leadership ended.
   * @param message What happened, naming the election key.
   */
  constructor(reason: string, message: string) {
    super(message);
    this.name = "NotLeaderError";
    this.reason = reason;
  }
}

/**
 * A job's HA state in etcd is unreadable or belongs to another job
 * configuration; names the key and what is wrong with it.
 */
export class HaStateError extends Mx8Error {
  /** The etcd key at fault. */
  readonly key: string;

  /**
   * Creates an HA state error.
   *
   * @param key The etcd key at fault.
   * @param reason What is wrong and what to do.
   */
  constructor(key: string, reason: string) {
    super(`etcd key ${key}: ${reason}`);
    this.name = "HaStateError";
    this.key = key;
  }
}
