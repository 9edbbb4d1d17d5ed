/**
 * Distributed mode for loaders: turns `coordUrl`/`jobId`/`nodeId`/`want`
 * options into a lease-driven segment source (what a loader built with
 * `coordUrl` reads its segments from).
 *
 * @module
 */
import { hostname } from "node:os";
import { createCoordinatorClient } from "../rpc/client.ts";
import { LeaseSource, type LeaseSourceOptions } from "./lease_source.ts";
import type { LoaderOptions } from "../loader/options.ts";
import type { SegmentSource } from "../loader/segment.ts";

/**
 * The default node id: `<hostname>-<pid>`.
 *
 * @returns The id.
 */
export function defaultNodeId(): string {
  return `${hostname()}-${Deno.pid}`;
}

/**
 * Builds a lease source for loader options, with an owned client that the
 * source closes.
 *
 * @param options Loader options with `coordUrl` and `jobId`.
 * @param batchSize Samples per batch.
 * @param extra Extra source options (hooks, log).
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
  const source = new LeaseSource({
    client,
    jobId: options.jobId ?? "",
    nodeId: options.nodeId ?? defaultNodeId(),
    want: options.want ?? 1,
    batchSize,
    caps: {
      maxInflightBytes: options.maxInflightBytes ?? 0,
      maxRamBytes: options.maxProcessRssBytes ?? 0,
    },
    ...extra,
  });
  const close = source.close.bind(source);
  source.close = async () => {
    await close();
    client.close();
  };
  return source;
}
