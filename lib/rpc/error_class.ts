/**
 * Which RPC failures can heal by themselves (retry with backoff) and which
 * cannot (fail now, saying what to fix). One pure classifier shared by
 * every retry loop against the coordinator (agents and library loaders).
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** How a failed call should be treated. */
export interface RpcErrorClass {
  /** True when retrying later can succeed (the coordinator is down, restarting, overloaded). */
  transient: boolean;
  /** The Connect code of the failure. */
  code: Code;
  /** What went wrong, in words (for logs and errors). */
  reason: string;
  /** What to do about it (empty for transient failures). */
  hint: string;
}

/** Codes a retry can cure: the peer is down, restarting, overloaded or slow. */
const TRANSIENT_CODES: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Internal,
  Code.Unknown,
]);

const NOT_A_COORDINATOR =
  "check --coord-url / coordUrl against the url= of the coordinator's ready line (its main port, plain http://)";

/**
 * Transport failures that no retry cures, found in the message text
 * (transports report them as `Unavailable` / `Unknown` / `Internal`).
 */
const PERMANENT_TEXT: readonly {
  pattern: RegExp;
  reason: (m: RegExpExecArray) => string;
  hint: string;
}[] = [
  {
    pattern: /Requests to port (\d+) are blocked/i,
    reason: (m) =>
      `the runtime refuses to connect to port ${
        m[1]
      } (a port on fetch's blocked list)`,
    hint:
      "run the coordinator on another port (e.g. --bind 0.0.0.0:50051) and point the agents at it",
  },
  {
    pattern:
      /frame with invalid size|PROTOCOL_ERROR|Protocol error|invalid HTTP version|HTTP\/1\.[01] response to HTTP\/2/i,
    reason: () =>
      "the server does not speak HTTP/2 (h2c) like an MX8 coordinator: it is something else",
    hint: NOT_A_COORDINATOR,
  },
  {
    pattern: /unsupported content type|unexpected content type/i,
    reason: () =>
      "the server answered with a content type no MX8 coordinator sends: it is something else",
    hint: NOT_A_COORDINATOR,
  },
  {
    pattern: /InvalidContentType|certificate|handshake|\btls\b|\bssl\b/i,
    reason: () => "the TLS handshake failed",
    hint:
      "the coordinator serves plain HTTP: use http://HOST:PORT, or fix the TLS endpoint in front of it",
  },
];

/** What to do about a code that is not transient. */
function hintOf(code: Code): string {
  switch (code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return "pass the job's token with --auth-token-file or MX8_AUTH_TOKEN (authToken in the library)";
    case Code.Unimplemented:
      return `the server has no mx8.v1.Coordinator service: ${NOT_A_COORDINATOR}`;
    case Code.FailedPrecondition:
      return "check the job id, the node id and the coordinator's --world-size";
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return "check the ids and numbers this client sends (job id, node id, want)";
    case Code.NotFound:
      return "check the job id and that this is the job's coordinator";
    default:
      return "";
  }
}

/**
 * Classifies a failed coordinator call: transient (retry with backoff) or
 * permanent (fail with `reason` and `hint`).
 *
 * Transient: connection refused/reset, DNS failures, timeouts, HTTP 5xx and
 * the codes `Unavailable`, `DeadlineExceeded`, `ResourceExhausted`,
 * `Aborted`, `Internal`, `Unknown`. Permanent: a blocked port, a peer that is
 * not a coordinator (HTTP/1.1 only, another content type, no such service),
 * TLS failures, and every other code (`Unauthenticated`, `InvalidArgument`,
 * `FailedPrecondition`, `NotFound`, `Canceled`, …).
 *
 * @param err What the call threw.
 * @returns The class, with a reason and a hint for permanent failures.
 *
 * @example Connection refused is transient; a blocked port is not
 * ```ts
 * import assert from "node:assert/strict";
 * import { Code, ConnectError } from "@connectrpc/connect";
 * import { classifyRpcError } from "./error_class.ts";
 *
 * const refused = new ConnectError("connect ECONNREFUSED 127.0.0.1:50051", Code.Unavailable);
 * assert.equal(classifyRpcError(refused).transient, true);
 * const blocked = new ConnectError("Fetch failed: Requests to port 6000 are blocked", Code.Unavailable);
 * assert.equal(classifyRpcError(blocked).transient, false);
 * assert.match(classifyRpcError(blocked).hint, /another port/);
 * ```
 */
export function classifyRpcError(err: unknown): RpcErrorClass {
  const ce = ConnectError.from(err);
  const text = messageChain(ce);
  for (const p of PERMANENT_TEXT) {
    const m = p.pattern.exec(text);
    if (m) {
      return {
        transient: false,
        code: ce.code,
        reason: `${p.reason(m)} (${ce.rawMessage})`,
        hint: p.hint,
      };
    }
  }
  const transient = TRANSIENT_CODES.has(ce.code);
  return {
    transient,
    code: ce.code,
    reason: `${Code[ce.code] ?? ce.code}: ${ce.rawMessage}`,
    hint: transient ? "" : hintOf(ce.code),
  };
}

/** The message of an error and of its causes, joined with ": ". */
function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(
      e instanceof ConnectError
        ? e.rawMessage
        : e instanceof Error
        ? e.message
        : String(e),
    );
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}
