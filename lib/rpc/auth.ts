/**
 * Bearer-token auth for the coordinator's RPCs (spec §6): a server
 * interceptor that refuses calls without `Authorization: Bearer <token>`
 * (`Unauthenticated`, compared in constant time), and a client interceptor
 * that sends the header.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

const BEARER = /^Bearer[ \t]+(.+?)[ \t]*$/i;

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Compares two secrets in time independent of where they differ (both are
 * hashed first, so their lengths do not leak either).
 *
 * @param a One secret.
 * @param b The other.
 * @returns Whether they are equal.
 *
 * @example Compare tokens
 * ```ts
 * import assert from "node:assert/strict";
 * import { secretsEqual } from "./auth.ts";
 *
 * assert.equal(secretsEqual("s3cret", "s3cret"), true);
 * assert.equal(secretsEqual("s3cret", "s3cre"), false);
 * ```
 */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}

/**
 * Returns the token of an `Authorization: Bearer <token>` header value.
 *
 * @param header The header value, `null` when absent.
 * @returns The token, or `undefined` when the header is absent or not a bearer header.
 *
 * @example Parse a header
 * ```ts
 * import assert from "node:assert/strict";
 * import { bearerTokenOf } from "./auth.ts";
 *
 * assert.equal(bearerTokenOf("Bearer abc"), "abc");
 * assert.equal(bearerTokenOf("Basic abc"), undefined);
 * assert.equal(bearerTokenOf(null), undefined);
 * ```
 */
export function bearerTokenOf(header: string | null): string | undefined {
  if (header === null) return undefined;
  return BEARER.exec(header)?.[1];
}

/**
 * A server interceptor that lets a call through only with
 * `Authorization: Bearer <token>`; otherwise it throws `Unauthenticated`
 * without running the handler.
 *
 * @param token The expected token, non-empty.
 * @returns The interceptor (pass it in the router's `interceptors`).
 * @throws {RangeError} If `token` is empty.
 *
 * @example Refuse a call without the header
 * ```ts
 * import assert from "node:assert/strict";
 * import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
 * import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
 * import { requireBearerToken } from "./auth.ts";
 *
 * const transport = createRouterTransport(
 *   (router) => router.service(Coordinator, { getJobSnapshot: () => ({}) }),
 *   { router: { interceptors: [requireBearerToken("s3cret")] } },
 * );
 * const client = createClient(Coordinator, transport);
 * await assert.rejects(client.getJobSnapshot({ jobId: "j" }), (err) => {
 *   return ConnectError.from(err).code === Code.Unauthenticated;
 * });
 * ```
 */
export function requireBearerToken(token: string): Interceptor {
  if (token === "") throw new RangeError("Auth token must not be empty");
  return (next) => (req) => {
    const header = req.header.get("authorization");
    const given = bearerTokenOf(header);
    if (given === undefined) {
      throw new ConnectError(
        header === null
          ? "Missing auth token: send Authorization: Bearer <token> (agents: --auth-token-file or MX8_AUTH_TOKEN)"
          : 'Malformed Authorization header: expected "Bearer <token>"',
        Code.Unauthenticated,
      );
    }
    if (!secretsEqual(given, token)) {
      throw new ConnectError(
        "Wrong auth token: use the coordinator's token (--auth-token-file or MX8_AUTH_TOKEN)",
        Code.Unauthenticated,
      );
    }
    return next(req);
  };
}

/**
 * A client interceptor that sends `Authorization: Bearer <token>` with every call.
 *
 * @param token The token, non-empty.
 * @returns The interceptor (pass it in the transport's `interceptors`).
 * @throws {RangeError} If `token` is empty.
 *
 * @example Add the header
 * ```ts
 * import { sendBearerToken } from "./auth.ts";
 *
 * const interceptors = [sendBearerToken("s3cret")];
 * ```
 */
export function sendBearerToken(token: string): Interceptor {
  if (token === "") throw new RangeError("Auth token must not be empty");
  const value = `Bearer ${token}`;
  return (next) => (req) => {
    req.header.set("authorization", value);
    return next(req);
  };
}
