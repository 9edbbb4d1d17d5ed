/**
 * Limits of one fenced etcd transaction.
 *
 * @module
 */

/**
 * Most keys one transaction writes: etcd allows 128 operations per branch,
 * and the leader's fencing adds one compare and one failure read. Larger
 * writes are split by {@linkcode TxnPipeline} (lib/ha/pipeline.ts) into
 * parts sent one after another; the loader accepts any prefix of them.
 */
export const MAX_KEYS_PER_TXN = 120;
