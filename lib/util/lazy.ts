/**
 * Imports Deno does not follow before the program starts.
 *
 * `deno run` builds the whole module graph up front, and it follows every
 * `import("./literal.ts")` too: `mx8 --version` paid for parsing the
 * coordinator, the AWS SDK and the rest (~120 ms). An import of a computed
 * URL is resolved only when it runs. `deno compile` cannot see such imports
 * either, so every module loaded this way is listed in
 * {@linkcode LAZY_MODULES} and passed to it with `--include`
 * (`scripts/compile.ts`; `tests/util/lazy_test.ts` checks the list).
 *
 * @module
 */

/** Every module loaded through {@linkcode lazyUrl}, relative to the repository root. */
export const LAZY_MODULES: readonly string[] = [
  "lib/cli/agent.ts",
  "lib/cli/bridge.ts",
  "lib/cli/coordinator.ts",
  "lib/cli/demo.ts",
  "lib/cli/pack.ts",
  "lib/cli/resolve.ts",
  "lib/cli/tui.ts",
  "lib/pack/dest_s3.ts",
  "lib/pack/source_s3.ts",
];

/**
 * The URL of `rel` next to `base`, as a string Deno's graph builder does not
 * treat as a static dependency.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lazyUrl } from "./lazy.ts";
 * assert.equal(lazyUrl("./b.ts", "file:///x/a.ts"), "file:///x/b.ts");
 * ```
 *
 * @param rel Module path relative to `base`.
 * @param base The importing module's `import.meta.url`.
 * @returns The absolute URL.
 */
export function lazyUrl(rel: string, base: string): string {
  return new URL(rel, base).href;
}
