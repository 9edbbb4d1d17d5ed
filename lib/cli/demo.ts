/**
 * `mx8 demo`: the embedded default job. Makes a photo-like JPEG dataset,
 * packs it, starts a coordinator and agents as real processes, kills one
 * agent mid-lease, shows the requeue and the drain, then reads the dataset
 * with an ImageFolderLoader and prints its stats.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { makeDemoImages } from "../demo/dataset.ts";
import { type SelfProcess, spawnSelf } from "../demo/self.ts";
import { Mx8Error } from "../errors.ts";
import { ImageFolderLoader } from "../loader/image_folder.ts";
import { loadNativeLibrary } from "../native/library.ts";
import { pack } from "../pack/pack.ts";
import { FsManifestStore } from "../manifest_store/fs.ts";
import { type Command, intFlag } from "./command.ts";

const HELP = `mx8 demo — the embedded default job

Usage:
  mx8 demo [--images 2000] [--agents 3] [--kill-after-ms 1500] [--work-dir DIR]

Steps (each printed as it runs):
  1. make N photo-like JPEGs (500×375, 4 classes, ImageFolder layout, deterministic)
  2. mx8 pack them into tar shards + a byte-range manifest
  3. start mx8 coordinator (world size = agents) and the agents as processes
  4. kill one agent mid-lease (--kill-after-ms after its first lease)
  5. show its lease expiring, the remainder requeued, the job draining, and
     check that every sample id was delivered (at-least-once)
  6. read the packed dataset with ImageFolderLoader (224×224 float32, batch 64)
     and print stats() and a throughput table

Options:
  --images N         images to make (default 2000)
  --agents N         agents to start, ≥ 2 (default 3)
  --kill-after-ms N  when to kill agent-0 after its first lease (default: ~40 % into its share)
  --work-dir DIR     keep everything in DIR (default: a temp dir, removed at the end)
  -h, --help         show this help

Last stdout line:
  mx8 demo OK samples=N requeued=R leases_expired=E drained=true decode_backend=B images_per_s=X`;

const CLASSES = ["beach", "forest", "city", "desert"];

function say(step: string, text: string): void {
  console.log(`[${step}] ${text}`);
}

async function readIds(path: string): Promise<number[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l).map(Number);
}

async function metrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\s+([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The `demo` subcommand. */
export const demoCommand: Command = {
  name: "demo",
  summary:
    "embedded default: dataset, pack, coordinator + agents, a kill, requeue, drain, stats",
  help: HELP,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        "images": { type: "string" },
        "agents": { type: "string" },
        "kill-after-ms": { type: "string" },
        "work-dir": { type: "string" },
      },
      strict: true,
    });
    const images = intFlag("images", values.images, 2000, 8);
    const agents = intFlag("agents", values.agents, 3, 2);
    // agent-0 delivers ~8 ms/sample: kill it about 40 % into its share, mid-lease.
    const killAfter = intFlag(
      "kill-after-ms",
      values["kill-after-ms"],
      Math.round((images / agents) * 8 * 0.4),
      0,
    );
    const keep = values["work-dir"] !== undefined;
    const work = values["work-dir"] ??
      await Deno.makeTempDir({ prefix: "mx8-demo-" });
    await Deno.mkdir(work, { recursive: true });
    const children: SelfProcess[] = [];
    const t0 = performance.now();
    try {
      // 1. Dataset.
      const lib = loadNativeLibrary();
      say(
        "1/6",
        `making ${images} photo-like JPEGs (500×375, classes ${
          CLASSES.join(", ")
        }) in ${work}/raw`,
      );
      let shown = 0;
      const bytes = await makeDemoImages(`${work}/raw`, {
        count: images,
        classes: CLASSES,
        onProgress: (done, total) => {
          if (done === total || done - shown >= Math.ceil(total / 4)) {
            shown = done;
            say("1/6", `  ${done}/${total} images`);
          }
        },
      });
      say(
        "1/6",
        `dataset: ${images} images, ${(bytes / 2 ** 20).toFixed(1)} MiB`,
      );

      // 2. Pack.
      const packed = `${work}/packed`;
      const p = await pack(`${work}/raw`, {
        out: packed,
        shardMb: 16,
        labelMode: "imagefolder",
        overwrite: true,
      });
      say(
        "2/6",
        `packed: samples=${p.samples} shards=${p.shards} bytes=${p.bytes} manifest_hash=${p.manifestHash}`,
      );

      // 3. Coordinator + agents.
      const store = `${work}/store`;
      const blockSize = Math.max(8, Math.ceil(images / (agents * 6)));
      let url = "";
      const events: Record<string, unknown>[] = [];
      const ready = Promise.withResolvers<string>();
      const coordinator = spawnSelf(
        [
          "coordinator",
          "--job-id",
          "demo",
          "--dataset",
          packed,
          "--bind",
          "127.0.0.1:0",
          "--world-size",
          String(agents),
          "--block-size",
          String(blockSize),
          "--lease-ttl-ms",
          "2000",
          "--heartbeat-ms",
          "250",
          "--manifest-store",
          store,
        ],
        (line) => {
          const m = /^mx8 coordinator ready url=(\S+)/.exec(line);
          if (m) ready.resolve(m[1]);
        },
        (line) => {
          if (!line.startsWith("{")) return;
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          const show = {
            job_ready: () => `job ready: ${JSON.stringify(e.members)}`,
            lease_expired: () =>
              `lease ${e.lease_id} of ${e.node_id} EXPIRED at cursor ${e.cursor} (range [${e.start_id}, ${e.end_id}))`,
            range_requeued: () =>
              `range [${e.start_id}, ${e.end_id}) REQUEUED to the front of the pool`,
            node_departed: () =>
              `node ${e.node_id} DEPARTED; ${e.requeued_ranges} unissued ranges moved to the pool`,
            job_drained: () => `job DRAINED: every range completed`,
          }[String(e.event)];
          if (show) say("5/6", show());
        },
      );
      children.push(coordinator);
      url = await Promise.race([
        ready.promise,
        coordinator.done.then((s) => {
          throw new Mx8Error(
            `coordinator exited with code ${s.code} before it was ready`,
          );
        }),
      ]);
      say(
        "3/6",
        `coordinator ready at ${url} (world size ${agents}, block size ${blockSize})`,
      );
      const agentProcs = Array.from({ length: agents }, (_, i) => {
        const id = `agent-${i}`;
        const extra = i === 0 ? ["--kill-after-ms", String(killAfter)] : [];
        const proc = spawnSelf(
          [
            "agent",
            "--coord-url",
            url,
            "--job-id",
            "demo",
            "--node-id",
            id,
            "--sink",
            `ids:${work}/ids-${id}.txt`,
            "--batch-size",
            "16",
            "--sink-sleep-ms",
            i === 0 ? "8" : "2",
            ...extra,
          ],
          (line) => line.startsWith("mx8 agent done") && say("5/6", line),
          (line) => {
            if (line.includes('"kill_scheduled"')) {
              say(
                "4/6",
                `${id} will be killed ${killAfter} ms after its first lease`,
              );
            }
          },
        );
        children.push(proc);
        return { id, proc };
      });
      say(
        "3/6",
        `started ${agents} agents: ${agentProcs.map((a) => a.id).join(", ")}`,
      );
      const statuses = await Promise.all(agentProcs.map((a) => a.proc.done));
      statuses.forEach((s, i) => {
        const id = agentProcs[i].id;
        if (s.signal === "SIGKILL") {
          say("4/6", `${id} was killed (SIGKILL) mid-job`);
        } else if (s.code !== 0) {
          throw new Mx8Error(`${id} failed with exit code ${s.code}`);
        }
      });
      const union = new Set<number>();
      let delivered = 0;
      for (const { id } of agentProcs) {
        const ids = await readIds(`${work}/ids-${id}.txt`);
        delivered += ids.length;
        for (const x of ids) union.add(x);
      }
      const m = await metrics(url);
      if (union.size !== images) {
        throw new Mx8Error(
          `only ${union.size} of ${images} sample ids were delivered`,
        );
      }
      say(
        "5/6",
        `all ${images} sample ids delivered (${
          delivered - images
        } redelivered at lease boundaries); ` +
          `leases_expired_total=${m.leases_expired_total} ranges_requeued_total=${m.ranges_requeued_total} ` +
          `leases_granted_total=${m.leases_granted_total} job_drained=${m.job_drained}`,
      );
      coordinator.child.kill("SIGTERM");
      await coordinator.done;

      // 6. Loader.
      const backend = lib.ok ? "native" : "sharp";
      if (!lib.ok) {
        say(
          "6/6",
          `native decoder not built (${lib.reason}); using sharp (run deno task build:ffi)`,
        );
      }
      const loader = new ImageFolderLoader(packed, {
        batchSizeSamples: 64,
        resizeHw: [224, 224],
        maxInflightBytes: 256 * 2 ** 20,
        decodeBackend: backend,
        manifestStore: new FsManifestStore(store),
      });
      const t1 = performance.now();
      let n = 0;
      for await (const b of loader) n += b.sampleIds.length;
      const secs = (performance.now() - t1) / 1000;
      const s = loader.stats();
      const ips = n / secs;
      say(
        "6/6",
        `ImageFolderLoader read ${n} images as [64, 3, 224, 224] float32 batches; classes ${
          JSON.stringify(loader.classes)
        }`,
      );
      console.log("\nstats():");
      for (const [k, v] of Object.entries(s)) {
        console.log(
          `  ${k.padEnd(28)} ${
            typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v
          }`,
        );
      }
      console.log("\n| stage | samples | seconds | samples/s |");
      console.log("|---|---:|---:|---:|");
      console.log(
        `| ImageFolderLoader (${s.decodeBackend}, 224×224 float32) | ${n} | ${
          secs.toFixed(2)
        } | ${ips.toFixed(0)} |`,
      );
      console.log(
        `\ndemo took ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      console.log(
        `mx8 demo OK samples=${images} requeued=${m.ranges_requeued_total} leases_expired=${m.leases_expired_total} ` +
          `drained=${
            m.job_drained === 1
          } decode_backend=${s.decodeBackend} images_per_s=${ips.toFixed(0)}`,
      );
      return 0;
    } finally {
      for (const c of children) {
        try {
          c.child.kill("SIGKILL");
        } catch { /* exited */ }
      }
      await Promise.all(children.map((c) => c.done.catch(() => {})));
      if (!keep) await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
};
