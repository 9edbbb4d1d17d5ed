/**
 * Summarizes a V8 `.cpuprofile` (from `deno run --cpu-prof`): self time per
 * function and per source file, top N.
 *
 * ```sh
 * deno run -A scripts/bench/_coord_profsum.ts FILE.cpuprofile [--top 30]
 * ```
 *
 * @module
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, ...rest] = Deno.args;
const top = Number(rest[rest.indexOf("--top") + 1]) || 30;
const prof: Profile = JSON.parse(Deno.readTextFileSync(file));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}
const short = (url: string) =>
  url.replace(/^.*node_modules\/\.deno\//, "npm:").replace(
    /^file:\/\/\/work\/main\//,
    "",
  )
    .replace(/^ext:/, "ext:");
const fn = new Map<string, number>();
const files = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const key = `${f.functionName || "(anon)"}  ${short(f.url)}:${
    f.lineNumber + 1
  }`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const fk = f.url ? short(f.url) : `(${f.functionName})`;
  files.set(fk, (files.get(fk) ?? 0) + us);
  total += us;
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(100 * us / total).toFixed(1).padStart(5)}%  ${
        (us / 1000).toFixed(0).padStart(6)
      } ms  ${k}`,
    );
  }
};
show("self time by function", fn);
show("self time by file", files);

// --callers NAME: the call stacks (5 frames up) leading to NAME's self time.
const ci = rest.indexOf("--callers");
if (ci >= 0) {
  const name = rest[ci + 1];
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stacks = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    const frames: string[] = [];
    let p = parent.get(id);
    for (let d = 0; d < 8 && p !== undefined; d++, p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      frames.push(
        `${f.functionName || "(anon)"}@${short(f.url).split("/").pop()}:${
          f.lineNumber + 1
        }`,
      );
    }
    const k = frames.join(" < ");
    stacks.set(k, (stacks.get(k) ?? 0) + us);
  }
  console.log(`\ncallers of ${name}`);
  for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log(`${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
}
