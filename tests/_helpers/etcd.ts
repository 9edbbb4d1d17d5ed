/**
 * Test helper: a real `etcd` (one member, or a three-member cluster) on
 * 127.0.0.1 random free ports in a temporary data directory, killed and
 * removed on dispose.
 *
 * @module
 */

/** One running etcd member. */
export interface EtcdMember {
  /** Member name. */
  name: string;
  /** Its client URL, `http://127.0.0.1:PORT`. */
  clientUrl: string;
  /** Its process (for kill -9 / SIGSTOP drills). */
  process: Deno.ChildProcess;
  /** Whether it was killed. */
  killed: boolean;
}

/** A running etcd cluster. */
export interface TestEtcd {
  /** The members. */
  members: EtcdMember[];
  /** Every member's client URL. */
  endpoints: string[];
  /** Kills one member with SIGKILL and waits for it to exit. */
  kill(member: EtcdMember): Promise<void>;
  /** Finds the member that is the raft leader now. */
  leader(): Promise<EtcdMember>;
  /** Kills every member and removes the data directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Whether `etcd` is installed; tests that need it are ignored otherwise.
 */
export const HAS_ETCD: boolean = (() => {
  try {
    return Deno.statSync("/usr/bin/etcd").isFile ||
      Deno.statSync("/usr/local/bin/etcd").isFile;
  } catch {
    return false;
  }
})();

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts etcd members on loopback and waits until the cluster is healthy.
 *
 * @param size 1 or 3 members.
 * @returns The cluster.
 * @throws {Error} When etcd is missing (`apt-get install etcd-server`) or
 *   does not become healthy within 20 s (its log is included).
 */
export async function startEtcd(size: 1 | 3 = 1): Promise<TestEtcd> {
  const dir = await Deno.makeTempDir({ prefix: "mx8-etcd-" });
  const specs = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `m${i}`,
      client: freePort(),
      peer: freePort(),
    });
  }
  const cluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`)
    .join(",");
  const members: EtcdMember[] = specs.map((s) => {
    const clientUrl = `http://127.0.0.1:${s.client}`;
    const log = Deno.openSync(`${dir}/${s.name}.log`, {
      write: true,
      create: true,
    });
    const process = new Deno.Command("etcd", {
      args: [
        "--name",
        s.name,
        "--data-dir",
        `${dir}/${s.name}`,
        "--listen-client-urls",
        clientUrl,
        "--advertise-client-urls",
        clientUrl,
        "--listen-peer-urls",
        `http://127.0.0.1:${s.peer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${s.peer}`,
        "--initial-cluster",
        cluster,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        dir,
        "--heartbeat-interval",
        "50",
        "--election-timeout",
        "500",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    process.stderr.pipeTo(log.writable).catch(() => {});
    return { name: s.name, clientUrl, process, killed: false };
  });
  const kill = async (m: EtcdMember) => {
    if (m.killed) return;
    m.killed = true;
    try {
      m.process.kill("SIGKILL");
    } catch { /* already gone */ }
    await m.process.status;
  };
  const dispose = async () => {
    for (const m of members) await kill(m);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 20_000;
  for (const m of members) {
    while (true) {
      try {
        const r = await fetch(`${m.clientUrl}/health`, {
          signal: AbortSignal.timeout(1000),
        });
        const body = await r.json();
        if (body.health === "true") break;
      } catch { /* not up yet */ }
      if (Date.now() > deadline) {
        const log = await Deno.readTextFile(`${dir}/${m.name}.log`)
          .catch(() => "");
        await dispose();
        throw new Error(
          `etcd ${m.name} at ${m.clientUrl} not healthy after 20 s:\n${
            log.slice(-2000)
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const leader = async (): Promise<EtcdMember> => {
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      for (const m of members.filter((m) => !m.killed)) {
        try {
          const r = await fetch(`${m.clientUrl}/v3/maintenance/status`, {
            method: "POST",
            body: "{}",
            signal: AbortSignal.timeout(1000),
          });
          const s = await r.json();
          if (s.leader && s.leader === s.header?.member_id) return m;
        } catch { /* try the next */ }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("No etcd member reports being the raft leader after 20 s");
  };
  return {
    members,
    endpoints: members.map((m) => m.clientUrl),
    kill,
    leader,
    [Symbol.asyncDispose]: dispose,
  };
}
