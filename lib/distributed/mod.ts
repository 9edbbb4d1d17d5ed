/**
 * Distributed mode for loaders: turns `coordUrl`/`jobId`/`nodeId`/`want`
 * options into a lease-driven segment source (what a loader built with
 * `coordUrl` reads its segments from).
 *
 * @module
 */
import { DISTRIBUTED_DEFAULTS, type LoaderOptions } from "../loader/options.ts";
import type { SegmentSource } from "../loader/segment.ts";
import { createCoordinatorClient } from "../rpc/client.ts";
import { LeaseSource, type LeaseSourceOptions } from "./lease_source.ts";
import { claimNodeId } from "./node_id.ts";

/**
 * Builds a lease source for loader options, with an owned client that the
 * source closes. Without `nodeId` it claims the host's stable default id
 * ({@linkcode claimNodeId}) and gives it back on close.
 *
 * @param options Loader options with `coordUrl` and `jobId`.
 * @param batchSize Samples per batch.
 * @param extra Extra source options (hooks, log, timeouts).
 * @returns The source.
 */
export function leaseSourceFor(
  options: LoaderOptions,
  batchSize: number,
  extra: Partial<LeaseSourceOptions> = {},
): SegmentSource {
  const client = createCoordinatorClient(options.coordUrl!, {
    token: options.authToken ?? (Deno.env.get("MX8_AUTH_TOKEN") || undefined),
  });
  const jobId = options.jobId ?? "";
  const claim = options.nodeId ? undefined : claimNodeId(jobId);
  const log = extra.log ?? options.log;
  if (claim?.fallbackReason) {
    log?.("node_id_fallback", {
      node_id: claim.nodeId,
      reason: claim.fallbackReason,
      fix: "pass --node-id / nodeId so a restarted node can rejoin its job",
    });
  }
  const source = new LeaseSource({
    client,
    coordUrl: client.url,
    jobId,
    nodeId: options.nodeId ?? claim!.nodeId,
    want: options.want ?? 1,
    batchSize,
    caps: {
      maxInflightBytes: options.maxInflightBytes ?? 0,
      maxRamBytes: options.maxProcessRssBytes ?? 0,
    },
    connectTimeoutMs: options.connectTimeoutMs ??
      DISTRIBUTED_DEFAULTS.connectTimeoutMs,
    barrierTimeoutMs: options.barrierTimeoutMs ??
      DISTRIBUTED_DEFAULTS.barrierTimeoutMs,
    ...extra,
    log,
  });
  const close = source.close.bind(source);
  source.close = async () => {
    try {
      await close();
    } finally {
      client.close();
      claim?.release();
    }
  };
  return source;
}
