/**
 * The coordinator's bounds under connection floods (issue 15): a real
 * `mx8 coordinator` process, and for each load its RSS (sampled every
 * 100 ms: peak and at the end of the window) and the latency of `GET
 * /healthz` (one keep-alive HTTP/1.1 probe connection opened before the
 * load, 50 requests/s, p50/p99) next to the quiet baseline:
 *
 * - quiet: nothing else;
 * - idle: 2 000 connections that each made one request and then sit idle;
 * - bodies: 500 senders that each declare a 4 MiB body (the largest the
 *   coordinator accepts) on a Heartbeat and send it as fast as they can,
 *   reconnecting and starting over whenever the coordinator answers.
 *
 * The loads run in a child process (this script with `--role`), the probe
 * here; everything on 127.0.0.1. Needs `ulimit -n` ≥ 4096 (2 000 sockets
 * on each side).
 *
 * ```sh
 * deno task bench:floods [--idle 2000] [--senders 500] [--seconds 8] [--main PATH]
 * ```
 *
 * `--main` runs another checkout's `main.ts` (e.g. the code before a change)
 * under the same loads.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { openFileLimit } from "../../lib/rpc/conn_limits.ts";

const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
const enc = new TextEncoder();
const BODY_BYTES = 4 * 1048576;

const args = parseArgs({
  args: Deno.args,
  options: {
    role: { type: "string" },
    url: { type: "string" },
    n: { type: "string" },
    idle: { type: "string", default: "2000" },
    senders: { type: "string", default: "500" },
    seconds: { type: "string", default: "8" },
    main: { type: "string" },
  },
});

function hostPort(url: string) {
  const u = new URL(url);
  return { hostname: u.hostname, port: Number(u.port) };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Reads until the end of an HTTP/1.1 response head; returns it ("" on close). */
async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return "";
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

/** Load role: `n` connections that make one request each, then sit idle. */
async function idleLoad(url: string, n: number): Promise<void> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) {
    const conn = await Deno.connect(hostPort(url));
    await writeAll(
      conn,
      enc.encode("GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n"),
    );
    await readHead(conn);
    conns.push(conn);
  }
  console.log(`ready ${conns.length}`);
  setInterval(() => {}, 3_600_000); // held until killed
}

/** Load role: `n` senders of declared 4 MiB bodies, over and over. */
function bodyLoad(url: string, n: number): void {
  const chunk = new Uint8Array(65536);
  const head = enc.encode(
    `POST /mx8.v1.Coordinator/Heartbeat HTTP/1.1\r\nHost: b\r\nContent-Type: application/proto\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`,
  );
  let answers = 0;
  const sender = async () => {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect(hostPort(url));
      } catch {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      let answered = false;
      const reading = readHead(conn).then(() => {
        answered = true;
        answers++;
        try {
          conn.close();
        } catch { /* closed */ }
      }, () => {});
      try {
        await writeAll(conn, head);
        for (let sent = 0; sent < BODY_BYTES && !answered;) {
          await writeAll(conn, chunk);
          sent += chunk.length;
        }
      } catch { /* answered and closed, or refused */ }
      await reading;
    }
  };
  for (let i = 0; i < n; i++) sender();
  console.log(`ready ${n}`);
  setInterval(() => console.log(`answers ${answers}`), 1000);
}

if (args.values.role === "idle") {
  await idleLoad(args.values.url!, Number(args.values.n));
} else if (args.values.role === "body") {
  bodyLoad(args.values.url!, Number(args.values.n));
} else {
  await drive();
}

async function drive(): Promise<void> {
  const idleN = Number(args.values.idle);
  const sendersN = Number(args.values.senders);
  const seconds = Number(args.values.seconds);
  const nofile = openFileLimit();
  if (nofile !== undefined && nofile < idleN * 2 + 512) {
    console.error(
      `bench:floods needs ulimit -n >= ${
        idleN * 2 + 512
      } (now ${nofile}): run "ulimit -n 8192" first (or pass --idle N)`,
    );
    Deno.exit(1);
  }

  function cpuSeconds(pid: number): number {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ
    } catch {
      return 0;
    }
  }

  function rssBytes(pid: number): number {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/status`);
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)![1]) * 1024;
    } catch {
      return 0;
    }
  }

  async function firstLine(
    stream: ReadableStream<Uint8Array>,
    match: RegExp,
  ): Promise<string> {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!match.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`process ended before ${match}: ${text}`);
      text += value;
    }
    reader.releaseLock();
    return text;
  }

  const data = await Deno.makeTempDir({ prefix: "mx8-floods-" });
  await Deno.mkdir(`${data}/cat`);
  for (let i = 0; i < 16; i++) {
    await Deno.writeTextFile(`${data}/cat/${i}.jpg`, "x");
  }
  const coord = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unsafe-proto",
      "--quiet",
      args.values.main ?? MAIN_TS,
      "coordinator",
      "--job-id",
      "floods",
      "--dataset",
      data,
      "--manifest-store",
      `${data}/store`,
      "--bind",
      "127.0.0.1:0",
    ],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const ready = await firstLine(coord.stdout, /\n/);
  const url = /url=(\S+)/.exec(ready)![1];
  coord.stdout.pipeTo(new WritableStream()).catch(() => {});

  interface Row {
    load: string;
    /** Coordinator CPU over the window (100 = one core). */
    cpu: number;
    /** Load process CPU over the window. */
    loadCpu: number;
    rssPeak: number;
    rssEnd: number;
    p50: number;
    p99: number;
    failed: number;
  }

  /** Probes /healthz on one keep-alive connection for `seconds`, sampling RSS. */
  async function measure(load: string, loadPid?: number): Promise<Row> {
    const cpu0 = cpuSeconds(coord.pid);
    const loadCpu0 = loadPid === undefined ? 0 : cpuSeconds(loadPid);
    const wall0 = performance.now();
    const conn = await Deno.connect(hostPort(url));
    const req = enc.encode("GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n");
    const buf = new Uint8Array(4096);
    const lat: number[] = [];
    let failed = 0;
    let rssPeak = 0;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes(coord.pid));
    }, 100);
    const end = performance.now() + seconds * 1000;
    let probe: Deno.Conn | undefined = conn;
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        probe ??= await Deno.connect(hostPort(url));
        await writeAll(probe, req);
        let text = "";
        while (!text.endsWith("ok\n")) {
          const n = await probe.read(buf);
          if (n === null) throw new Error("closed");
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        lat.push(performance.now() - t0);
      } catch {
        failed++;
        probe = undefined;
      }
      const wait = 20 - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    clearInterval(sampler);
    probe?.close();
    lat.sort((a, b) => a - b);
    const q = (p: number) =>
      lat.length
        ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]
        : NaN;
    const wall = (performance.now() - wall0) / 1000;
    return {
      load,
      cpu: (cpuSeconds(coord.pid) - cpu0) / wall * 100,
      loadCpu: loadPid === undefined
        ? 0
        : (cpuSeconds(loadPid) - loadCpu0) / wall * 100,
      rssPeak,
      rssEnd: rssBytes(coord.pid),
      p50: q(0.5),
      p99: q(0.99),
      failed,
    };
  }

  async function withLoad(
    role: string,
    n: number,
    load: string,
  ): Promise<Row> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--role",
        role,
        "--url",
        url,
        "--n",
        String(n),
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    await firstLine(child.stdout, /ready \d+/);
    child.stdout.pipeTo(new WritableStream()).catch(() => {});
    const row = await measure(load, child.pid);
    child.kill("SIGKILL");
    await child.status;
    await new Promise((r) => setTimeout(r, 1000)); // let the coordinator settle
    return row;
  }

  const rows: Row[] = [];
  rows.push(await measure("quiet"));
  rows.push(await withLoad("idle", idleN, `${idleN} idle connections`));
  rows.push(
    await withLoad("body", sendersN, `${sendersN} senders of 4 MiB bodies`),
  );
  rows.push(await measure("quiet again"));
  coord.kill("SIGTERM");
  await coord.status;
  await Deno.remove(data, { recursive: true });

  const mb = (b: number) => (b / 1048576).toFixed(0);
  const ms = (x: number) => x.toFixed(2);
  const base = rows[0];
  console.log(
    `\nmx8 coordinator under floods (${seconds} s per load, /healthz probe at 50/s; load average ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    })\n`,
  );
  console.log(
    "| load | RSS peak MB | RSS end MB | peak / quiet | /healthz p50 ms | p99 ms | p99 / quiet | probe failures | coordinator CPU % | load CPU % |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.load} | ${mb(r.rssPeak)} | ${mb(r.rssEnd)} | ${
        (r.rssPeak / base.rssPeak).toFixed(2)
      }× | ${ms(r.p50)} | ${ms(r.p99)} | ${
        (r.p99 / base.p99).toFixed(2)
      }× | ${r.failed} | ${r.cpu.toFixed(0)} | ${r.loadCpu.toFixed(0)} |`,
    );
  }
}
