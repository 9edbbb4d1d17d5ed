/**
 * A small fetch-based etcd v3 client over the JSON gateway (`POST /v3/*`),
 * enough for MX8's coordinator HA: key-value range/put/delete/txn, leases
 * and watches. Several endpoints fail over in turn.
 *
 * @module
 */
import { EtcdError } from "../errors.ts";
import { encodeText } from "./codec.ts";
import {
  decodeKv,
  encodeCompare,
  encodeOp,
  encodeRange,
  type Json,
  readRange,
  readTxn,
} from "./_wire.ts";
import type {
  Compare,
  KeyValue,
  Op,
  RangeOptions,
  RangeResult,
  TxnResult,
  WatchEvent,
} from "./types.ts";
import { readInt } from "./codec.ts";
import { watchStream } from "./_watch.ts";
import { GrpcCallError, GrpcChannels } from "./_grpc.ts";
import { decodeTxnResponse, encodeTxnRequest } from "./_proto.ts";

/** Default time a request may take before it is abandoned. */
export const DEFAULT_ETCD_TIMEOUT_MS = 2000;

/** Options of {@linkcode EtcdClient}. */
export interface EtcdClientOptions {
  /** Per-request timeout in ms (default {@linkcode DEFAULT_ETCD_TIMEOUT_MS}). */
  timeoutMs?: number;
  /**
   * etcd user and password (etcd with auth enabled): the client gets a
   * token from `/v3/auth/authenticate` and sends it with every request,
   * authenticating again when etcd says it expired.
   */
  auth?: { user: string; password: string };
  /**
   * Send txns over etcd's gRPC API (HTTP/2, one connection per endpoint)
   * instead of the JSON gateway: the gateway's JSON↔protobuf translation
   * costs etcd 1.4× (1 key) to 5× (120 keys) the CPU of the txn itself.
   * Everything else still goes through the gateway. Call
   * {@linkcode EtcdClient.prototype.close} when done.
   */
  grpc?: boolean;
}

/** One batch of watch events. */
export interface WatchBatch {
  /** Store revision of the batch. */
  revision: number;
  /** The changes, in revision order. */
  events: WatchEvent[];
}

/** Options of {@linkcode EtcdClient.prototype.watch}. */
export interface WatchOptions {
  /** Watch every key starting with `key`. */
  prefix?: boolean;
  /** First revision to report (0: from now). */
  startRevision?: number;
  /** Ends the watch. */
  signal?: AbortSignal;
}

/**
 * A client of one etcd cluster through its JSON gateway.
 *
 * Read-only requests fail over to the next endpoint on a network error or a
 * timeout; writes fail over only when the endpoint could not be reached
 * (a timed-out write may have been applied, so it is reported, not retried).
 *
 * @example Put and read back
 * ```ts ignore
 * import { EtcdClient } from "./client.ts";
 * const etcd = new EtcdClient(["http://127.0.0.1:2379"]);
 * await etcd.put("/mx8/x", "1");
 * const { kvs } = await etcd.range("/mx8/x");
 * console.log(kvs[0].value); // "1"
 * ```
 */
export class EtcdClient {
  readonly #endpoints: string[];
  readonly #timeoutMs: number;
  readonly #auth: { user: string; password: string } | undefined;
  #token: Promise<string> | undefined;
  #current = 0;
  readonly #grpc: GrpcChannels | undefined;

  /**
   * Creates a client; no connection is made until the first request.
   *
   * @param endpoints Client URLs of the cluster's members (`http://host:port`).
   * @param options Timeout.
   * @throws {TypeError} When no endpoint is given or one is not an http(s) URL.
   */
  constructor(endpoints: string[], options: EtcdClientOptions = {}) {
    if (endpoints.length === 0) {
      throw new TypeError(
        "No etcd endpoint given: pass --ha-etcd http://HOST:2379[,URL...]",
      );
    }
    this.#endpoints = endpoints.map((e) => {
      let url: URL;
      try {
        url = new URL(e);
      } catch {
        throw new TypeError(
          `Invalid etcd endpoint "${e}": expected a URL like http://127.0.0.1:2379`,
        );
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new TypeError(
          `Invalid etcd endpoint "${e}": expected http:// or https://`,
        );
      }
      return url.origin;
    });
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS;
    this.#auth = options.auth;
    this.#grpc = options.grpc ? new GrpcChannels() : undefined;
  }

  /** Closes the client's gRPC connections (txns in flight fail). */
  close(): void {
    this.#grpc?.close();
  }

  /**
   * The `Authorization` header of a request (empty without auth): a token
   * from `/v3/auth/authenticate`, fetched once and again after `stale`.
   */
  async #headers(stale?: string): Promise<Record<string, string>> {
    const auth = this.#auth;
    if (auth === undefined) return {};
    if (this.#token === undefined || (await this.#token) === stale) {
      const body = { name: auth.user, password: auth.password };
      this.#token = this.#call("/v3/auth/authenticate", body, {
        idempotent: true,
        anonymous: true,
      }).then((r) => String(r.token ?? ""));
      this.#token.catch(() => this.#token = undefined);
    }
    return { Authorization: await this.#token };
  }

  /** The endpoints, in failover order. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /**
   * Reads one key, or every key under a prefix.
   *
   * @param key Key, or prefix with `options.prefix`.
   * @param options Prefix, limit, sort, revision.
   * @returns The keys found and the store revision.
   * @throws {EtcdError} When etcd refuses or cannot be reached.
   */
  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const body = await this.#call("/v3/kv/range", encodeRange(key, options), {
      idempotent: true,
    });
    return readRange(body);
  }

  /**
   * Writes one key.
   *
   * @param key Key.
   * @param value Value.
   * @param lease Lease to bind the key to (deleted when it expires).
   * @returns The store revision of the write.
   * @throws {EtcdError} When etcd refuses (e.g. code 5: lease not found).
   */
  async put(key: string, value: string, lease?: string): Promise<number> {
    const body = await this.#call(
      "/v3/kv/put",
      { key: encodeText(key), value: encodeText(value), lease },
      { idempotent: false },
    );
    return readInt((body.header as Json)?.revision, "revision");
  }

  /**
   * Deletes one key or every key under a prefix.
   *
   * @param key Key or prefix.
   * @param options `prefix` to delete the whole prefix.
   * @returns How many keys were deleted.
   * @throws {EtcdError} When etcd refuses or cannot be reached.
   */
  async delete(
    key: string,
    options: { prefix?: boolean } = {},
  ): Promise<number> {
    const op = encodeOp({ delete: { key, prefix: options.prefix } });
    const body = await this.#call(
      "/v3/kv/deleterange",
      op.request_delete_range,
      {
        idempotent: false,
      },
    );
    return readInt(body.deleted, "deleted");
  }

  /**
   * Runs a transaction: if every compare holds, the `success` ops, else the
   * `failure` ops — atomically, in one revision.
   *
   * @param compares Conditions.
   * @param success Ops when all hold.
   * @param failure Ops otherwise.
   * @param options `timeoutMs`: this call's timeout instead of the
   *   client's; `signal`: stops waiting for the answer when aborted (the
   *   outcome is then unknown, code 1).
   * @returns Which branch ran and its answers.
   * @throws {EtcdError} When etcd refuses (e.g. more than 128 ops, code 3).
   */
  async txn(
    compares: Compare[],
    success: Op[],
    failure: Op[] = [],
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<TxnResult> {
    if (this.#grpc !== undefined) {
      const bytes = await this.#callGrpc(
        "/etcdserverpb.KV/Txn",
        encodeTxnRequest(compares, success, failure),
        options,
      );
      return decodeTxnResponse(bytes);
    }
    const body = await this.#call("/v3/kv/txn", {
      compare: compares.map(encodeCompare),
      success: success.map(encodeOp),
      failure: failure.map(encodeOp),
    }, {
      idempotent: false,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    return readTxn(body);
  }

  /**
   * Grants a lease.
   *
   * @param ttlSeconds Time to live in whole seconds (etcd's minimum is 2).
   * @returns The lease id and the TTL etcd granted.
   * @throws {EtcdError} When etcd refuses or cannot be reached.
   */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const body = await this.#call("/v3/lease/grant", {
      TTL: String(ttlSeconds),
    }, {
      idempotent: false,
    });
    return { id: String(body.ID), ttl: readInt(body.TTL, "TTL") };
  }

  /**
   * Renews a lease once.
   *
   * @param id Lease id.
   * @param options `timeoutMs`: this call's timeout instead of the client's.
   * @returns The remaining TTL in seconds; 0 when the lease is gone.
   * @throws {EtcdError} When etcd cannot be reached.
   */
  async leaseKeepAlive(
    id: string,
    options: { timeoutMs?: number } = {},
  ): Promise<number> {
    const body = await this.#call("/v3/lease/keepalive", { ID: id }, {
      idempotent: true,
      timeoutMs: options.timeoutMs,
    });
    const result = (body.result ?? body) as Json;
    return readInt(result.TTL, "TTL");
  }

  /**
   * Revokes a lease, deleting every key bound to it. Revoking a lease that
   * is already gone is not an error.
   *
   * @param id Lease id.
   * @throws {EtcdError} When etcd cannot be reached.
   */
  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.#call("/v3/lease/revoke", { ID: id }, { idempotent: true });
    } catch (err) {
      if (err instanceof EtcdError && err.code === 5) return; // not found
      throw err;
    }
  }

  /**
   * Asks how long a lease has left.
   *
   * @param id Lease id.
   * @returns Remaining seconds, -1 when the lease does not exist.
   * @throws {EtcdError} When etcd cannot be reached.
   */
  async leaseTimeToLive(id: string): Promise<number> {
    const body = await this.#call("/v3/lease/timetolive", { ID: id }, {
      idempotent: true,
    });
    return readInt(body.TTL, "TTL");
  }

  /**
   * Watches a key or prefix: yields each batch of changes until the signal
   * aborts or the caller stops iterating. Throws when the stream breaks, so
   * the caller re-reads and watches again from the revision it knows.
   *
   * @param key Key or prefix.
   * @param options Prefix, start revision, signal.
   * @returns Batches of events.
   * @throws {EtcdError} When the watch is cancelled by etcd (e.g. the start
   *   revision was compacted, code 11) or the stream breaks (code 14).
   */
  async *watch(
    key: string,
    options: WatchOptions = {},
  ): AsyncGenerator<WatchBatch> {
    const request = {
      create_request: {
        ...encodeRange(key, { prefix: options.prefix }),
        start_revision: options.startRevision
          ? String(options.startRevision)
          : undefined,
      },
    };
    const endpoint = this.#endpoints[this.#current];
    try {
      const headers = await this.#headers();
      for await (
        const msg of watchStream(endpoint, request, options.signal, headers)
      ) {
        const events = ((msg.events ?? []) as Json[]).map((e): WatchEvent => ({
          type: e.type === "DELETE" ? "delete" : "put",
          kv: decodeKv(e.kv as Json),
        }));
        const revision = readInt((msg.header as Json)?.revision, "revision");
        if (events.length > 0) yield { revision, events };
      }
    } catch (err) {
      // The next watch (after the caller re-reads) goes to another member.
      if (err instanceof EtcdError && err.code === 14) {
        this.#current = (this.#current + 1) % this.#endpoints.length;
      }
      throw err;
    }
  }

  /**
   * A non-idempotent unary gRPC call, with the gateway path's rules: the
   * next endpoint is tried only when this one could not be reached; a
   * timeout or a broken connection leaves the outcome unknown and is
   * reported; an expired token is renewed once.
   */
  async #callGrpc(
    path: string,
    message: Uint8Array,
    { timeoutMs = this.#timeoutMs, signal }: {
      timeoutMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<Uint8Array> {
    let last: EtcdError | undefined;
    let reauthenticated = false;
    for (let tries = 0; tries < this.#endpoints.length; tries++) {
      const endpoint = this.#endpoints[this.#current];
      const auth = await this.#headers();
      let answer;
      try {
        answer = await this.#grpc!.unary(endpoint, path, message, {
          timeoutMs,
          signal,
          metadata: auth.Authorization === undefined
            ? undefined
            : { token: auth.Authorization },
        });
      } catch (err) {
        const failure = err instanceof GrpcCallError
          ? err.failure
          : { kind: "broken" as const, message: String(err) };
        if (failure.kind === "aborted") {
          throw new EtcdError({
            code: 1,
            path,
            endpoint,
            message: `stopped waiting for the answer: ${
              signal?.reason instanceof Error
                ? signal.reason.message
                : String(signal?.reason)
            }`,
          }, { cause: err });
        }
        this.#current = (this.#current + 1) % this.#endpoints.length;
        if (failure.kind === "timeout") {
          throw new EtcdError({
            code: 4,
            path,
            endpoint,
            message:
              `no answer within ${timeoutMs} ms: check that etcd is running and has quorum`,
          }, { cause: err });
        }
        last = new EtcdError({
          code: 14,
          path,
          endpoint,
          message: failure.kind === "unreachable"
            ? `cannot reach etcd over gRPC (${failure.message}): check --ha-etcd`
            : `the connection to etcd broke, outcome unknown (${failure.message})`,
        }, { cause: err });
        if (failure.kind === "broken") throw last;
        continue;
      }
      if (answer.status === 0) return answer.body;
      if (
        answer.status === 16 && this.#auth !== undefined && !reauthenticated
      ) {
        reauthenticated = true;
        await this.#headers(auth.Authorization);
        tries--;
        continue;
      }
      throw new EtcdError({
        code: answer.status,
        path,
        endpoint,
        message: answer.status === 16 ||
            /auth|permission|user name/i.test(answer.message)
          ? `${answer.message}: etcd has auth enabled — pass --ha-etcd-user USER with the password in MX8_ETCD_PASSWORD (and check the user's role)`
          : answer.message,
      });
    }
    throw last!;
  }

  async #call(
    path: string,
    request: unknown,
    { idempotent, timeoutMs = this.#timeoutMs, anonymous = false, signal }: {
      idempotent: boolean;
      timeoutMs?: number;
      /** Stops waiting when aborted (never retried elsewhere). */
      signal?: AbortSignal;
      /** Sent without a token (the authenticate call itself). */
      anonymous?: boolean;
    },
  ): Promise<Json> {
    let last: EtcdError | undefined;
    let reauthenticated = false;
    for (let tries = 0; tries < this.#endpoints.length; tries++) {
      const endpoint = this.#endpoints[this.#current];
      let response: Response;
      let text: string;
      const headers = anonymous ? {} : await this.#headers();
      try {
        response = await fetch(endpoint + path, {
          method: "POST",
          headers,
          body: JSON.stringify(request),
          signal: signal === undefined
            ? AbortSignal.timeout(timeoutMs)
            : AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]),
        });
        text = await response.text();
      } catch (err) {
        if (signal?.aborted) {
          throw new EtcdError({
            code: 1,
            path,
            endpoint,
            message: `stopped waiting for the answer: ${
              signal.reason instanceof Error
                ? signal.reason.message
                : String(signal.reason)
            }`,
          }, { cause: err });
        }
        this.#current = (this.#current + 1) % this.#endpoints.length;
        const timedOut = err instanceof DOMException &&
          (err.name === "TimeoutError" || err.name === "AbortError");
        last = new EtcdError({
          code: timedOut ? 4 : 14,
          path,
          endpoint,
          message: timedOut
            ? `no answer within ${timeoutMs} ms: check that etcd is running and has quorum`
            : `cannot reach etcd (${(err as Error).message}): check --ha-etcd`,
        }, { cause: err });
        if (timedOut && !idempotent) throw last;
        continue;
      }
      let body: Json;
      try {
        body = JSON.parse(text) as Json;
      } catch {
        throw new EtcdError({
          code: 13,
          path,
          endpoint,
          message: `HTTP ${response.status} with a body that is not JSON: ` +
            `"${text.slice(0, 80)}" (is this an etcd 3.4+ client URL?)`,
        });
      }
      const error =
        (body.error ?? (body.code !== undefined ? body : undefined)) as
          | Json
          | string
          | undefined;
      if (error !== undefined) {
        const detail = typeof error === "string" ? body : error;
        const code = readInt(detail.code, "code");
        const message = String(detail.message ?? detail.error ?? error);
        // An expired or revoked token (16 UNAUTHENTICATED): one new token.
        if (
          code === 16 && this.#auth !== undefined && !anonymous &&
          !reauthenticated
        ) {
          reauthenticated = true;
          await this.#headers(headers.Authorization);
          tries--;
          continue;
        }
        last = new EtcdError({
          code,
          path,
          endpoint,
          message: code === 16 || /auth|permission|user name/i.test(message)
            ? `${message}: etcd has auth enabled — pass --ha-etcd-user USER with the password in MX8_ETCD_PASSWORD (and check the user's role)`
            : message,
        });
        // 14 UNAVAILABLE (e.g. "no leader") on one member: another may serve.
        if (code === 14 && idempotent) {
          this.#current = (this.#current + 1) % this.#endpoints.length;
          continue;
        }
        throw last;
      }
      if (!response.ok) {
        throw new EtcdError({
          code: 13,
          path,
          endpoint,
          message: `HTTP ${response.status}: "${text.slice(0, 80)}"`,
        });
      }
      return body;
    }
    throw last!;
  }
}

export type { KeyValue };
