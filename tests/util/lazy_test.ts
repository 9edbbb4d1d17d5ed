import assert from "node:assert/strict";
import { compileArgs } from "../../scripts/compile.ts";
import { LAZY_MODULES } from "../../lib/util/lazy.ts";
// Type-only imports of every lazy module: `deno test` type-checks them (the
// lazy imports themselves are invisible to the checker).
import type {} from "../../lib/cli/agent.ts";
import type {} from "../../lib/cli/bridge.ts";
import type {} from "../../lib/cli/coordinator.ts";
import type {} from "../../lib/cli/demo.ts";
import type {} from "../../lib/cli/pack.ts";
import type {} from "../../lib/cli/resolve.ts";
import type {} from "../../lib/cli/tui.ts";
import type {} from "../../lib/pack/dest_s3.ts";
import type {} from "../../lib/pack/source_s3.ts";

const ROOT = new URL("../../", import.meta.url);

async function* sources(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* sources(url);
    else if (e.name.endsWith(".ts")) yield url;
  }
}

Deno.test("LAZY_MODULES lists exactly the modules lib/ imports through lazyUrl, and deno compile includes each", async () => {
  const found = new Set<string>();
  for await (const file of sources(new URL("lib/", ROOT))) {
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/lazyUrl\("([^"]+)", import\.meta\.url\)/g)) {
      const target = new URL(m[1], file).href.slice(ROOT.href.length);
      assert.ok(
        await Deno.stat(new URL(target, ROOT)).then(() => true, () => false),
        `${target} (from ${file.pathname}) exists`,
      );
      found.add(target);
    }
  }
  assert.deepEqual([...found].sort(), [...LAZY_MODULES].sort());
  const self = await Deno.readTextFile(new URL(import.meta.url));
  for (const m of LAZY_MODULES) {
    assert.ok(
      self.includes(`import type {} from "../../${m}";`),
      `this test type-checks ${m}`,
    );
  }
  const args = compileArgs({ output: "o" });
  for (const m of LAZY_MODULES) {
    assert.ok(
      args.some((a, i) => a === m && args[i - 1] === "--include"),
      `--include ${m}`,
    );
  }
});

Deno.test("mx8 --version does not load the subcommands (no module graph beyond the CLI shell)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("main.ts", ROOT).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules: string[] = graph.modules.map((m: { specifier: string }) =>
    m.specifier
  );
  assert.ok(modules.length < 10, `${modules.length} modules: ${modules}`);
  assert.ok(!modules.some((m) => m.startsWith("npm:")), "no npm package");
});
