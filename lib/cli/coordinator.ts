/**
 * `mx8 coordinator`: pins the dataset snapshot, then serves the job's leases
 * over Connect/gRPC/gRPC-Web until SIGINT or SIGTERM.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CoordinatorJob } from "../coordinator/job.ts";
import { type CoordinatorEvent, jsonLinesSink } from "../coordinator/events.ts";
import { serveCoordinator } from "../coordinator/server.ts";
import { HaReplica, MAX_INFLIGHT_TXNS } from "../coordinator/ha.ts";
import { LeaseError } from "../lease/errors.ts";
import { DEFAULT_BLOCK_SIZE } from "../lease/blocks.ts";
import { openDatasetSummary } from "../loader/dataset.ts";
import { DEFAULT_LIMITS } from "../rpc/conn_limits.ts";
import { loadAuthToken } from "../rpc/token.ts";
import { defaultStoreRoot, openManifestStore } from "../manifest_store/open.ts";
import { type Command, UsageError } from "./command.ts";

const HELP = `mx8 coordinator — per-job control plane

Pins the dataset snapshot at start, then serves leases to agents until
SIGINT or SIGTERM. It stays up after the job drains so operators can read it.
The main port (--bind) serves Connect and gRPC-Web over HTTP/1.1 and h2c;
gRPC clients (gRPC needs HTTP/2 trailers) use the gRPC port (--grpc-bind),
which serves Connect, gRPC and gRPC-Web.

Usage:
  mx8 coordinator --job-id J --dataset LINK [options]

Options:
  --job-id J               job id agents must present (required)
  --dataset LINK           dataset link to pin at start (required)
  --bind HOST:PORT         listen address (default 127.0.0.1:50051; port 0 = any free port)
  --grpc-bind PORT|off     gRPC port on the same interface (default: --bind's port + 1,
                           or any free port when that is 0 or taken; off = no gRPC)
  --world-size N           nodes required before leases are granted (default 1)
  --min-world-size M       start as soon as M nodes registered (1 <= M <= N)
  --block-size N           samples per lease block (default 65536)
  --lease-ttl-ms N         lease lifetime without progress; also node silence
                           before departure (default 10000)
  --heartbeat-ms N         heartbeat interval agents use, < lease TTL (default 1000)
  --shuffle                deal blocks in an order seeded by --seed and --epoch
  --seed S                 job seed (default 0)
  --epoch E                epoch (default 0)
  --manifest-store ROOT    manifest store (default: $MX8_MANIFEST_STORE or ~/.mx8/manifests)
  --auth-token-file F      require Authorization: Bearer <token> on every RPC
                           (else $MX8_AUTH_TOKEN when set; /metrics and /healthz stay open)
  --resume-from TOKEN      skip the samples a GetResumeCheckpoint token marks completed
  --max-connections N      connections open at once on both ports; more are closed
                           at once (default: the descriptor limit (ulimit -n) minus
                           min(256, a quarter of it), at most 10000)
  --idle-timeout-ms N      close a connection with no request in flight after N ms
                           (default 60000)
  --header-timeout-ms N    close a new connection that sends no request head within
                           N ms (default 10000)
  --body-timeout-ms N      a request body must arrive within N ms (default 30000)
  --ha-etcd URL[,URL...]   run as one of several HA replicas on this etcd cluster
                           (client URLs): the elected leader serves, followers answer
                           mutating RPCs with FAILED_PRECONDITION + mx8-leader (docs/ha.md)
  --ha-ttl-ms N            leader lease TTL with --ha-etcd (default 2000, min 2000)
  --ha-max-inflight N      fenced etcd txns the leader keeps in flight (default 1: one
                           at a time, changes meanwhile share one txn; more overlap
                           etcd writes but delay the leader's keepalives under load)
  --advertise-url URL      this replica's URL as agents reach it (default: its url=)
  --ha-etcd-user USER      etcd user when etcd has auth enabled; the password is read
                           from $MX8_ETCD_PASSWORD
  -h, --help               show this help

Output:
  stdout, once listening:
    mx8 coordinator ready url=http://HOST:PORT job=J manifest_hash=H samples=N grpc=http://HOST:PORT2
  (grpc=off with --grpc-bind off)
  stderr: one JSON line per event ({"ts":…,"event":"lease_granted",…}); under a
  connection flood, at most one "connections_refused" / "accept_failed" line
  per 10 s each (with the count of the ones suppressed)

HTTP: /mx8.v1.Coordinator/<Rpc>, GET /metrics (Prometheus text), GET /healthz.`;

/** Everything `mx8 coordinator` is configured with. */
export interface CoordinatorArgs {
  /** Job id. */
  jobId: string;
  /** Dataset link. */
  dataset: string;
  /** Interface to bind. */
  hostname: string;
  /** Port to bind (0 = any). */
  port: number;
  /** gRPC port on the same interface (0 = any), or `null` for none. */
  grpcPort: number | null;
  /** True when `--grpc-bind` was not given (a taken default port falls back). */
  grpcDefaulted: boolean;
  /** Nodes the barrier waits for. */
  worldSize: number;
  /** Start with this many nodes. */
  minWorldSize?: number;
  /** Samples per block. */
  blockSize: number;
  /** Lease TTL (ms). */
  leaseTtlMs: number;
  /** Heartbeat interval (ms). */
  heartbeatMs: number;
  /** Shuffle blocks. */
  shuffle: boolean;
  /** Job seed. */
  seed: bigint;
  /** Epoch. */
  epoch: number;
  /** Manifest store root. */
  manifestStore?: string;
  /** Auth token file. */
  authTokenFile?: string;
  /** Resume checkpoint token. */
  resumeFrom?: string;
  /** Connection cap (default from the descriptor limit). */
  maxConnections?: number;
  /** Idle timeout (ms). */
  idleTimeoutMs: number;
  /** Header timeout (ms). */
  headerTimeoutMs: number;
  /** Body timeout (ms). */
  bodyTimeoutMs: number;
  /** etcd client URLs (HA mode), or undefined. */
  haEtcd?: string[];
  /** Leader lease TTL in HA mode (ms). */
  haTtlMs: number;
  /** Fenced txns the HA leader keeps in flight (`--ha-max-inflight`). */
  haMaxInflight: number;
  /** URL this replica advertises to agents. */
  advertiseUrl?: string;
  /** etcd user and password (`--ha-etcd-user`, `MX8_ETCD_PASSWORD`). */
  haEtcdAuth?: { user: string; password: string };
}

function intFlag(name: string, text: string | undefined, min: number): number;
function intFlag(
  name: string,
  text: string | undefined,
  min: number,
  fallback: number,
): number;
function intFlag(
  name: string,
  text: string | undefined,
  min: number,
  fallback?: number,
): number {
  if (text === undefined) return fallback!;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > 0xffffffff) {
    throw new UsageError(`--${name} must be an integer >= ${min}: "${text}"`);
  }
  return value;
}

/**
 * Parses `HOST:PORT` (`[v6]:PORT` for IPv6).
 *
 * @param text The `--bind` value.
 * @returns Host and port.
 * @throws {UsageError} If it is malformed.
 *
 * @example Parse addresses
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBind } from "./coordinator.ts";
 *
 * assert.deepEqual(parseBind("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
 * assert.deepEqual(parseBind("[::1]:50051"), { hostname: "::1", port: 50051 });
 * ```
 */
export function parseBind(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(
      `--bind must be HOST:PORT (e.g. 127.0.0.1:50051, [::1]:0): "${text}"`,
    );
  }
  return { hostname: m[1] ?? m[2], port };
}

/**
 * Parses `--grpc-bind`: a port, or `off`.
 *
 * @param text The flag's value, if given.
 * @param mainPort The `--bind` port.
 * @returns The gRPC port (main + 1 by default, 0 when main is 0), or `null` for off.
 * @throws {UsageError} If it is neither a port nor `off`, or equals the main port.
 *
 * @example Defaults and explicit values
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGrpcBind } from "./coordinator.ts";
 *
 * assert.equal(parseGrpcBind(undefined, 50051), 50052);
 * assert.equal(parseGrpcBind(undefined, 0), 0);
 * assert.equal(parseGrpcBind("off", 50051), null);
 * assert.equal(parseGrpcBind("9000", 50051), 9000);
 * ```
 */
export function parseGrpcBind(
  text: string | undefined,
  mainPort: number,
): number | null {
  if (text === undefined) {
    return mainPort === 0 ? 0 : mainPort === 65535 ? 0 : mainPort + 1;
  }
  if (text === "off") return null;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) {
    throw new UsageError(
      `--grpc-bind must be a port (0 = any free port) or off: "${text}"`,
    );
  }
  if (port !== 0 && port === mainPort) {
    throw new UsageError(
      `--grpc-bind must differ from the --bind port ${mainPort}: pick another port, 0 or off`,
    );
  }
  return port;
}

/**
 * Parses and checks the command line of `mx8 coordinator`.
 *
 * @param args Arguments after `coordinator`.
 * @returns The configuration.
 * @throws {UsageError} For missing, unknown or malformed flags.
 *
 * @example Minimal command line
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCoordinatorArgs } from "./coordinator.ts";
 *
 * const args = parseCoordinatorArgs(["--job-id", "j", "--dataset", "/data"]);
 * assert.equal(args.port, 50051);
 * assert.equal(args.worldSize, 1);
 * ```
 */
export function parseCoordinatorArgs(args: string[]): CoordinatorArgs {
  const { values, positionals } = parseArgs({
    args,
    options: {
      "job-id": { type: "string" },
      dataset: { type: "string" },
      bind: { type: "string" },
      "grpc-bind": { type: "string" },
      "world-size": { type: "string" },
      "min-world-size": { type: "string" },
      "block-size": { type: "string" },
      "lease-ttl-ms": { type: "string" },
      "heartbeat-ms": { type: "string" },
      shuffle: { type: "boolean" },
      seed: { type: "string" },
      epoch: { type: "string" },
      "manifest-store": { type: "string" },
      "auth-token-file": { type: "string" },
      "resume-from": { type: "string" },
      "max-connections": { type: "string" },
      "idle-timeout-ms": { type: "string" },
      "header-timeout-ms": { type: "string" },
      "body-timeout-ms": { type: "string" },
      "ha-etcd": { type: "string" },
      "ha-ttl-ms": { type: "string" },
      "ha-max-inflight": { type: "string" },
      "ha-etcd-user": { type: "string" },
      "advertise-url": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const jobId = values["job-id"];
  if (!jobId) throw new UsageError("missing --job-id");
  const dataset = values.dataset;
  if (!dataset) throw new UsageError("missing --dataset");
  const worldSize = intFlag("world-size", values["world-size"], 1, 1);
  const minWorldSize = values["min-world-size"] === undefined
    ? undefined
    : intFlag("min-world-size", values["min-world-size"], 1);
  if (minWorldSize !== undefined && minWorldSize > worldSize) {
    throw new UsageError(
      `--min-world-size must not exceed --world-size: ${minWorldSize} > ${worldSize}`,
    );
  }
  const leaseTtlMs = intFlag("lease-ttl-ms", values["lease-ttl-ms"], 1, 10000);
  const heartbeatMs = intFlag("heartbeat-ms", values["heartbeat-ms"], 1, 1000);
  if (heartbeatMs >= leaseTtlMs) {
    throw new UsageError(
      `--heartbeat-ms must be less than --lease-ttl-ms: ${heartbeatMs} >= ${leaseTtlMs}`,
    );
  }
  const seedText = values.seed ?? "0";
  if (!/^\d+$/.test(seedText) || BigInt(seedText) >= 2n ** 64n) {
    throw new UsageError(
      `--seed must be an integer in [0, 2^64): "${seedText}"`,
    );
  }
  const bind = parseBind(values.bind ?? "127.0.0.1:50051");
  const haEtcd = values["ha-etcd"]?.split(",").map((u) => u.trim())
    .filter((u) => u !== "");
  for (const u of haEtcd ?? []) {
    if (!/^https?:\/\/[^/]+\/?$/.test(u)) {
      throw new UsageError(
        `--ha-etcd must be etcd client URLs like http://127.0.0.1:2379[,URL...]: "${u}"`,
      );
    }
  }
  if (haEtcd?.length === 0) {
    throw new UsageError("--ha-etcd needs at least one URL");
  }
  if (haEtcd === undefined) {
    for (
      const flag of [
        "ha-ttl-ms",
        "ha-max-inflight",
        "advertise-url",
        "ha-etcd-user",
      ] as const
    ) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--${flag} needs --ha-etcd`);
      }
    }
  }
  const user = values["ha-etcd-user"];
  const password = Deno.env.get("MX8_ETCD_PASSWORD");
  if (user !== undefined && !password) {
    throw new UsageError(
      `--ha-etcd-user ${user} needs the password in MX8_ETCD_PASSWORD`,
    );
  }
  const advertiseUrl = values["advertise-url"];
  if (
    advertiseUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(advertiseUrl)
  ) {
    throw new UsageError(
      `--advertise-url must be http://HOST:PORT as agents reach this replica: "${advertiseUrl}"`,
    );
  }
  return {
    jobId,
    dataset,
    ...bind,
    grpcPort: parseGrpcBind(values["grpc-bind"], bind.port),
    grpcDefaulted: values["grpc-bind"] === undefined,
    worldSize,
    minWorldSize,
    blockSize: intFlag(
      "block-size",
      values["block-size"],
      1,
      DEFAULT_BLOCK_SIZE,
    ),
    leaseTtlMs,
    heartbeatMs,
    shuffle: values.shuffle ?? false,
    seed: BigInt(seedText),
    epoch: intFlag("epoch", values.epoch, 0, 0),
    manifestStore: values["manifest-store"],
    authTokenFile: values["auth-token-file"],
    resumeFrom: values["resume-from"],
    maxConnections: values["max-connections"] === undefined
      ? undefined
      : intFlag("max-connections", values["max-connections"], 1),
    idleTimeoutMs: intFlag(
      "idle-timeout-ms",
      values["idle-timeout-ms"],
      1,
      DEFAULT_LIMITS.idleTimeoutMs,
    ),
    headerTimeoutMs: intFlag(
      "header-timeout-ms",
      values["header-timeout-ms"],
      1,
      DEFAULT_LIMITS.headerTimeoutMs,
    ),
    bodyTimeoutMs: intFlag(
      "body-timeout-ms",
      values["body-timeout-ms"],
      1,
      DEFAULT_LIMITS.bodyTimeoutMs,
    ),
    haEtcd,
    haTtlMs: intFlag("ha-ttl-ms", values["ha-ttl-ms"], 2000, 2000),
    haMaxInflight: intFlag(
      "ha-max-inflight",
      values["ha-max-inflight"],
      1,
      MAX_INFLIGHT_TXNS,
    ),
    advertiseUrl: advertiseUrl?.replace(/\/$/, ""),
    ...(user === undefined
      ? {}
      : { haEtcdAuth: { user, password: password! } }),
  };
}

function waitForSignal(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handlers = signals.map((signal) => {
      const handler = () => {
        signals.forEach((s, i) => Deno.removeSignalListener(s, handlers[i]));
        resolve(signal);
      };
      Deno.addSignalListener(signal, handler);
      return handler;
    });
  });
}

/** The `coordinator` subcommand. */
export const coordinatorCommand: Command = {
  name: "coordinator",
  summary:
    "per-job control plane: pins the dataset snapshot, serves leases over Connect-RPC",
  help: HELP,
  async run(argv) {
    const args = parseCoordinatorArgs(argv);
    const token = await loadAuthToken({ file: args.authTokenFile });
    const store = openManifestStore(args.manifestStore ?? defaultStoreRoot());
    const { snapshot: snap, root, classes } = await openDatasetSummary(
      args.dataset,
      store,
    );
    const onEvent = jsonLinesSink({ fields: { job_id: args.jobId } });
    let job: CoordinatorJob;
    try {
      job = new CoordinatorJob({
        jobId: args.jobId,
        manifestHash: snap.manifestHash,
        manifestBytes: snap.manifestBytes,
        totalSamples: snap.samples,
        datasetRoot: root,
        classes,
        worldSize: args.worldSize,
        minWorldSize: args.minWorldSize,
        blockSize: args.blockSize,
        leaseTtlMs: args.leaseTtlMs,
        heartbeatIntervalMs: args.heartbeatMs,
        shuffle: args.shuffle,
        seed: args.seed,
        epoch: args.epoch,
        resumeFrom: args.resumeFrom,
        onEvent,
      });
    } catch (err) {
      if (err instanceof LeaseError) {
        throw new UsageError(`--resume-from: ${err.message}`);
      }
      throw err;
    }
    using _ = job;
    await using server = await serveCoordinator(job, {
      hostname: args.hostname,
      port: args.port,
      token,
      grpcPort: args.grpcPort ?? undefined,
      grpcPortFallback: args.grpcDefaulted,
      limits: {
        ...(args.maxConnections === undefined
          ? {}
          : { maxConnections: args.maxConnections }),
        idleTimeoutMs: args.idleTimeoutMs,
        headerTimeoutMs: args.headerTimeoutMs,
        bodyTimeoutMs: args.bodyTimeoutMs,
      },
      onEvent: (e) => onEvent(e as CoordinatorEvent),
    });
    if (server.grpcFallbackFrom !== undefined) {
      onEvent({
        event: "grpc_port_fallback",
        wanted_port: server.grpcFallbackFrom,
        grpc_url: server.grpcUrl ?? null,
        reason:
          "the default gRPC port (--bind's + 1) is in use; pass --grpc-bind PORT to insist on one",
      });
    }
    const replica = args.haEtcd === undefined ? undefined : new HaReplica(job, {
      endpoints: args.haEtcd,
      auth: args.haEtcdAuth,
      ttlMs: args.haTtlMs,
      maxInflight: args.haMaxInflight,
      advertiseUrl: args.advertiseUrl ?? server.url,
      meta: {
        jobId: args.jobId,
        manifestHash: snap.manifestHash,
        totalSamples: snap.samples,
        blockSize: args.blockSize,
        seed: String(args.seed),
        epoch: args.epoch,
        shuffle: args.shuffle,
        resumed: job.image().completed,
        worldSize: args.worldSize,
      },
      onEvent,
    });
    if (replica === undefined) job.start();
    else replica.start();
    onEvent({
      event: "coordinator_started",
      url: server.url,
      grpc_url: server.grpcUrl ?? null,
      manifest_hash: snap.manifestHash,
      total_samples: snap.samples,
      world_size: args.worldSize,
      auth: token !== undefined,
    });
    const stopped = waitForSignal();
    console.log(
      `mx8 coordinator ready url=${server.url} job=${args.jobId} manifest_hash=${snap.manifestHash} samples=${snap.samples} grpc=${
        server.grpcUrl ?? "off"
      }`,
    );
    const signal = await stopped;
    onEvent({ event: "coordinator_stopping", signal });
    await replica?.close();
    return 0;
  },
};
