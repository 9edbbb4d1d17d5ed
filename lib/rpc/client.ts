/**
 * The coordinator client every MX8 component uses (agents, loaders, TUI,
 * benchmarks): Connect (default), gRPC or gRPC-Web; calls over h2c (HTTP/2
 * without TLS, one multiplexed connection) or HTTP/1.1; the bearer token on
 * every call. Connect and gRPC-Web run on Deno's `fetch`
 * (`fetch_transport.ts`); gRPC, which needs response trailers, on
 * `node:http2`.
 *
 * @module
 */
import {
  type Client,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { Mx8Error } from "../errors.ts";
import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
import { sendBearerToken } from "./auth.ts";
import { createFetchTransport } from "./fetch_transport.ts";
import { leaderTransport } from "./leader_transport.ts";

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
   * `httpVersion`.
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

function transportOf(
  protocol: RpcProtocol,
  version: "1.1" | "2",
  common: Common,
): OwnedTransport {
  if (protocol !== "grpc") {
    return createFetchTransport({ protocol, httpVersion: version, ...common });
  }
  if (version !== "2") {
    throw new TypeError('RPC protocol "grpc" needs httpVersion "2"');
  }
  const sessionManager = new Http2SessionManager(common.baseUrl, {
    pingIntervalMs: 15_000,
    idleConnectionTimeoutMs: 60_000,
  });
  const transport = createGrpcTransport({
    ...common,
    sessionManager,
  });
  return { transport, close: () => sessionManager.abort() };
}

/**
 * Creates a coordinator client. Calls share one HTTP/2 connection (h2c
 * prior knowledge for `http://`) by default, or keep-alive HTTP/1.1
 * connections. Close the client when done so no socket outlives it.
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
  const urls = url.split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (urls.length > 1) return leaderFollowingClient(urls, options);
  const baseUrl = checkUrl(url);
  const owned = singleTransport(baseUrl, options);
  return Object.assign(createClient(Coordinator, owned.transport), {
    url: baseUrl,
    close: owned.close,
    [Symbol.dispose]: owned.close,
  });
}

/** The transport of one coordinator URL; `close` is idempotent. */
function singleTransport(
  baseUrl: string,
  options: CoordinatorClientOptions,
): OwnedTransport {
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
  const streamVersion = options.streamHttpVersion ?? unaryVersion;
  const make = (version: "1.1" | "2") => transportOf(protocol, version, common);
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
  return { transport, close };
}

/**
 * A client of several HA replicas (`URL,URL,…`): calls follow the leader
 * (see lib/rpc/leader_transport.ts).
 */
function leaderFollowingClient(
  urls: string[],
  options: CoordinatorClientOptions,
): CoordinatorClient {
  const checked = urls.map(checkUrl);
  const owned = leaderTransport(
    checked,
    (u) => singleTransport(u, options),
    options.timeoutMs,
  );
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    owned.close();
  };
  return Object.assign(createClient(Coordinator, owned.transport), {
    url: checked.join(","),
    close,
    [Symbol.dispose]: close,
  });
}
