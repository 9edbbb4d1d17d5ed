/**
 * Regenerates `lib/gen/` from `proto/` with buf + protoc-gen-es (from npm).
 *
 * Usage:
 *   deno run -A scripts/gen_proto.ts              # write lib/gen/
 *   deno run -A scripts/gen_proto.ts --out DIR    # write elsewhere (staleness test)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

/** buf from npm; 1.74.0 is the newest version whose platform packages are all published. */
export const BUF = "npm:@bufbuild/buf@1.74.0";
/** The protoc-gen-es plugin pinned to the @bufbuild/protobuf runtime version. */
export const PROTOC_GEN_ES = "npm:@bufbuild/protoc-gen-es@2.17.0";

/**
 * Runs `buf generate` into `out` (relative to the repo root).
 *
 * @param out Output directory.
 */
export async function generate(out: string): Promise<void> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const template = JSON.stringify({
    version: "v2",
    plugins: [{
      local: ["deno", "run", "-A", PROTOC_GEN_ES],
      out,
      opt: ["target=ts", "import_extension=ts"],
    }],
    clean: true,
  });
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BUF, "generate", "--template", template, "proto"],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!res.success) {
    throw new Error(`buf generate failed with exit code ${res.code}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" } },
  });
  await generate(values.out ?? "lib/gen");
}
