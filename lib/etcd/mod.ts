/**
 * etcd for MX8's coordinator HA: a small client over etcd's v3 JSON gateway
 * and a fenced leader election on top of it.
 *
 * @example Elect, write fenced, resign
 * ```ts ignore
 * import { campaign, EtcdClient } from "./mod.ts";
 * const etcd = new EtcdClient(["http://127.0.0.1:2379"]);
 * const lead = await campaign(etcd, "/mx8/jobs/j/leader/", "http://me:7000");
 * await lead.fencedTxn([], [{ put: { key: "/mx8/jobs/j/meta", value: "{}" } }]);
 * await lead.resign();
 * ```
 *
 * @module
 */
export * from "./client.ts";
export * from "./codec.ts";
export * from "./election.ts";
export * from "./types.ts";
