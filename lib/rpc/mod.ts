/**
 * Connect-RPC plumbing shared by the coordinator, agents, loaders and the
 * TUI: the coordinator client factory, bearer-token auth, the auth-token
 * source, lease-error mapping, the HTTP/1.1 + h2c listeners (Deno's HTTP
 * server for Connect and gRPC-Web; `node:http2` where gRPC's trailers are
 * needed) with their connection cap, timeouts and limited request bodies,
 * and the Connect-to-fetch and Connect-to-node adapters.
 *
 * @example Call a coordinator
 * ```ts ignore
 * import { createCoordinatorClient, loadAuthToken } from "./mod.ts";
 *
 * const token = await loadAuthToken({ file: "/etc/mx8/token" });
 * using client = createCoordinatorClient("http://127.0.0.1:50051", { token });
 * const snap = await client.getJobSnapshot({ jobId: "j" });
 * console.log(snap.completedSamples, "of", snap.totalSamples);
 * ```
 *
 * @module
 */

export * from "./auth.ts";
export * from "./body_limit.ts";
export * from "./client.ts";
export * from "./conn_limits.ts";
export * from "./errors.ts";
export * from "./fetch_adapter.ts";
export * from "./fetch_transport.ts";
export * from "./flat_decode.ts";
export * from "./node_adapter.ts";
export * from "./serve.ts";
export * from "./serve_node.ts";
export * from "./token.ts";
