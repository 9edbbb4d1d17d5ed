/**
 * Unary gRPC calls to etcd over HTTP/2 (`node:http2`, one session per
 * endpoint, reused): what the client sends its txns through, instead of
 * the JSON gateway whose JSON↔protobuf translation costs etcd 1.4–5× the
 * CPU of the txn itself (docs/ha.md). `node:http2`, not `fetch`: Deno's
 * fetch over cleartext HTTP/2 holds request bodies above ~1.2 KB for
 * ~44 ms.
 *
 * @module
 */
import * as http2 from "node:http2";
import { Buffer } from "node:buffer";

/** How a call ended when it got no answer. */
export type GrpcFailure =
  /** The endpoint could not be reached: nothing was sent. */
  | { kind: "unreachable"; message: string }
  /** The connection broke after the request was sent: outcome unknown. */
  | { kind: "broken"; message: string }
  /** No answer within the timeout (the call was cancelled). */
  | { kind: "timeout" }
  /** The caller's signal aborted it. */
  | { kind: "aborted" };

/** A call's answer: gRPC status, message and (status 0) the reply bytes. */
export interface GrpcAnswer {
  /** gRPC status code (0: OK). */
  status: number;
  /** `grpc-message`, decoded. */
  message: string;
  /** The reply message (without framing); empty unless status is 0. */
  body: Uint8Array;
}

/** Thrown by {@linkcode GrpcChannels.prototype.unary} when no answer came. */
export class GrpcCallError extends Error {
  /** What happened. */
  readonly failure: GrpcFailure;

  /**
   * @param failure What happened.
   */
  constructor(failure: GrpcFailure) {
    super("message" in failure ? failure.message : failure.kind);
    this.name = "GrpcCallError";
    this.failure = failure;
  }
}

/** Wraps a message in gRPC's length-prefixed frame (uncompressed). */
export function frameMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/**
 * The first message of a gRPC body, or undefined when the body holds none
 * (or is compressed, which etcd does not do unasked).
 */
export function unframeMessage(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = new DataView(body.buffer, body.byteOffset).getUint32(1);
  if (body.length < 5 + length) return undefined;
  return body.subarray(5, 5 + length);
}

interface Session {
  session: http2.ClientHttp2Session;
  connected: boolean;
}

/** HTTP/2 sessions to etcd endpoints, opened on first use and reused. */
export class GrpcChannels {
  readonly #sessions = new Map<string, Session>();

  #session(origin: string): Session {
    const known = this.#sessions.get(origin);
    if (
      known !== undefined && !known.session.closed &&
      !known.session.destroyed
    ) {
      return known;
    }
    const session = http2.connect(origin);
    const entry: Session = { session, connected: false };
    session.once("connect", () => entry.connected = true);
    const forget = () => {
      if (this.#sessions.get(origin) === entry) this.#sessions.delete(origin);
    };
    // Errors reach the streams in flight; the next call reconnects.
    session.on("error", forget);
    session.once("close", forget);
    session.once("goaway", forget);
    this.#sessions.set(origin, entry);
    return entry;
  }

  /**
   * One unary call.
   *
   * @param origin `http://host:port` of the endpoint.
   * @param path `/package.Service/Method`.
   * @param message The request message (unframed).
   * @param options Timeout, caller's signal, extra metadata (e.g. `token`).
   * @returns The status and the reply.
   * @throws {GrpcCallError} When no status came back (unreachable, broken
   *   connection, timeout, aborted).
   */
  unary(
    origin: string,
    path: string,
    message: Uint8Array,
    options: {
      timeoutMs: number;
      signal?: AbortSignal;
      metadata?: Record<string, string>;
    },
  ): Promise<GrpcAnswer> {
    const entry = this.#session(origin);
    return new Promise<GrpcAnswer>((resolve, reject) => {
      let settled = false;
      let status: string | undefined;
      let grpcMessage = "";
      const chunks: Buffer[] = [];
      const req = entry.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...options.metadata,
      });
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const fail = (failure: GrpcFailure) =>
        finish(() => {
          if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
          reject(new GrpcCallError(failure));
        });
      const timer = setTimeout(
        () => fail({ kind: "timeout" }),
        options.timeoutMs,
      );
      const onAbort = () => fail({ kind: "aborted" });
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const headers = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
        if (h["grpc-message"] !== undefined) {
          grpcMessage = decodeURIComponent(String(h["grpc-message"]));
        }
      };
      req.on("response", headers);
      req.on("trailers", headers);
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () =>
        finish(() => {
          if (status === undefined) {
            reject(
              new GrpcCallError({
                kind: "broken",
                message: `${path} ended without a gRPC status`,
              }),
            );
            return;
          }
          const body = Buffer.concat(chunks);
          const bytes = new Uint8Array(
            body.buffer,
            body.byteOffset,
            body.byteLength,
          );
          resolve({
            status: Number(status),
            message: grpcMessage,
            body: unframeMessage(bytes) ?? new Uint8Array(),
          });
        }));
      req.on("error", (err: Error) =>
        fail({
          kind: entry.connected ? "broken" : "unreachable",
          message: err.message,
        }));
      req.on("close", () =>
        fail({
          kind: entry.connected ? "broken" : "unreachable",
          message: `${path}: the stream closed without an answer`,
        }));
      req.end(Buffer.from(frameMessage(message)));
    });
  }

  /** Closes every session (calls in flight fail). */
  close(): void {
    for (const { session } of this.#sessions.values()) session.destroy();
    this.#sessions.clear();
  }
}
