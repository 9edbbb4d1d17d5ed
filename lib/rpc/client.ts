/**
 * The coordinator client every MX8 component uses (agents, loaders, TUI,
 * benchmarks): Connect (default), gRPC or gRPC-Web; unary calls over h2c
 * (HTTP/2 without TLS, one multiplexed connection) or HTTP/1.1, server
 * streams over HTTP/1.1 by default; the bearer token on every call.
 *
 * @module
 */
import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  type Client,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { Mx8Error } from "../errors.ts";
import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
import { sendBearerToken } from "./auth.ts";

/** Wire protocol of a client. */
export type RpcProtocol = "connect" | "grpc" | "grpc-web";

/** Options of {@linkcode createCoordinatorClient}. */
export interface CoordinatorClientOptions {
  /** Bearer token sent with every call (the coordinator's `--auth-token-file` / `MX8_AUTH_TOKEN`). */
  token?: string;
  /** Wire protocol. Defaults to `"connect"` (binary). */
  protocol?: RpcProtocol;
  /**
   * HTTP version of unary calls: `"2"` (h2c for `http://`, one multiplexed
   * connection) or `"1.1"` (not with gRPC, which needs HTTP/2). Defaults to `"2"`.
   */
  httpVersion?: "1.1" | "2";
  /**
   * HTTP version of server-streaming calls (GetManifestStream). Defaults to
   * `"1.1"` except for gRPC: under Deno 2.9 the `node:http2` client now and
   * then drops the end of a stream that arrives in one burst ("Premature
   * close"); HTTP/1.1 streams do not have that problem.
   */
  streamHttpVersion?: "1.1" | "2";
  /** Deadline of every call in ms unless the call sets its own. Defaults to none. */
  timeoutMs?: number;
  /** Extra interceptors, run before the auth header is added. */
  interceptors?: Interceptor[];
}

/** A typed coordinator client that owns its connections. */
export type CoordinatorClient = Client<typeof Coordinator> & {
  /** The coordinator's base URL. */
  readonly url: string;
  /** Closes the connections; calls in flight fail. Idempotent. */
  close(): void;
  /** Same as {@linkcode CoordinatorClient.close}, for `using`. */
  [Symbol.dispose](): void;
};

/**
 * Parses and checks a coordinator URL.
 *
 * @param url `http://HOST:PORT` (h2c or HTTP/1.1) or `https://HOST:PORT`.
 * @returns The URL without a trailing `/`.
 * @throws {Mx8Error} If it is not an http(s) URL.
 */
function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Mx8Error(
      `Invalid coordinator URL "${url}": expected http://HOST:PORT`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Mx8Error(
      `Invalid coordinator URL "${url}": expected http://HOST:PORT (got ${parsed.protocol})`,
    );
  }
  return url.replace(/\/+$/, "");
}

interface Common {
  baseUrl: string;
  interceptors: Interceptor[];
  defaultTimeoutMs: number | undefined;
}

/** A transport and how to close its connection. */
interface OwnedTransport {
  transport: Transport;
  close(): void;
}

function h2Transport(protocol: RpcProtocol, common: Common): OwnedTransport {
  const sessionManager = new Http2SessionManager(common.baseUrl, {
    pingIntervalMs: 15_000,
    idleConnectionTimeoutMs: 60_000,
  });
  const options = { ...common, httpVersion: "2" as const, sessionManager };
  const transport = protocol === "connect"
    ? createConnectTransport(options)
    : protocol === "grpc"
    ? createGrpcTransport(options)
    : createGrpcWebTransport(options);
  return { transport, close: () => sessionManager.abort() };
}

function h1Transport(protocol: RpcProtocol, common: Common): OwnedTransport {
  if (protocol === "grpc") {
    throw new TypeError('RPC protocol "grpc" needs httpVersion "2"');
  }
  const agent = common.baseUrl.startsWith("https:")
    ? new HttpsAgent({ keepAlive: true })
    : new Agent({ keepAlive: true });
  const options = {
    ...common,
    httpVersion: "1.1" as const,
    nodeOptions: { agent },
  };
  const transport = protocol === "connect"
    ? createConnectTransport(options)
    : createGrpcWebTransport(options);
  return { transport, close: () => agent.destroy() };
}

/**
 * Creates a coordinator client. Unary calls share one HTTP/2 connection (h2c
 * prior knowledge for `http://`) by default; server streams use a keep-alive
 * HTTP/1.1 connection (see {@linkcode CoordinatorClientOptions.streamHttpVersion}).
 * Close the client when done so no socket outlives it.
 *
 * @param url Coordinator URL as printed in its ready line (`http://HOST:PORT`).
 * @param options Token, protocol, HTTP versions and default deadline.
 * @returns The client; every RPC of `mx8.v1.Coordinator` as a method.
 * @throws {Mx8Error} If the URL is not `http(s)://HOST:PORT`.
 * @throws {TypeError} For gRPC over HTTP/1.1 or an unknown protocol.
 *
 * @example Register a node
 * ```ts ignore
 * import { createCoordinatorClient } from "./client.ts";
 *
 * using client = createCoordinatorClient("http://127.0.0.1:50051", { token: "s3cret" });
 * const res = await client.registerNode({ jobId: "j", nodeId: "node-a" });
 * console.log(res.assignedRank, res.jobReady);
 * ```
 */
export function createCoordinatorClient(
  url: string,
  options: CoordinatorClientOptions = {},
): CoordinatorClient {
  const baseUrl = checkUrl(url);
  const protocol = options.protocol ?? "connect";
  if (!["connect", "grpc", "grpc-web"].includes(protocol)) {
    throw new TypeError(`Unknown RPC protocol: "${protocol}"`);
  }
  const interceptors = [...(options.interceptors ?? [])];
  if (options.token !== undefined) {
    interceptors.push(sendBearerToken(options.token));
  }
  const common = {
    baseUrl,
    interceptors,
    defaultTimeoutMs: options.timeoutMs,
  };
  const unaryVersion = options.httpVersion ?? "2";
  const streamVersion = options.streamHttpVersion ??
    (protocol === "grpc" ? "2" : "1.1");
  const make = (version: "1.1" | "2") =>
    version === "2"
      ? h2Transport(protocol, common)
      : h1Transport(protocol, common);
  const unary = make(unaryVersion);
  const stream = streamVersion === unaryVersion ? unary : make(streamVersion);
  const transport: Transport = {
    unary: (...args) => unary.transport.unary(...args),
    stream: (...args) => stream.transport.stream(...args),
  };
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unary.close();
    if (stream !== unary) stream.close();
  };
  return Object.assign(createClient(Coordinator, transport), {
    url: baseUrl,
    close,
    [Symbol.dispose]: close,
  });
}
