/**
 * Coordinator HA state on etcd (spec §12): the persisted layout of a job's
 * lease state, loading it in one read, and committing each mutation as
 * fenced transactions.
 *
 * @example Open as leader, restore, commit
 * ```ts ignore
 * import { HaJobStore, jobKeys } from "./mod.ts";
 * const keys = jobKeys("j1");
 * const { store, loaded } = await HaJobStore.open(etcd, keys, leadership, meta);
 * const state = LeaseState.restore(options, loaded.image, Date.now());
 * await store.commit(state.image());
 * ```
 *
 * @module
 */
export * from "./layout.ts";
export * from "./load.ts";
export * from "./pipeline.ts";
export * from "./plan.ts";
export * from "./store.ts";
export * from "./txn.ts";
export * from "./view.ts";
