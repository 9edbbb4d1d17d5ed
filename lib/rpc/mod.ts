/**
 * Connect-RPC plumbing shared by the coordinator, agents, loaders and the
 * TUI: the coordinator client factory, bearer-token auth, the auth-token
 * source, lease-error mapping and an HTTP/1.1 + h2c listener.
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
export * from "./client.ts";
export * from "./errors.ts";
export * from "./serve.ts";
export * from "./token.ts";
