/**
 * `mx8 resolve LINK`: resolves a dataset link to a pinned manifest hash.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolveDataset } from "../snapshot/resolve.ts";
import { defaultStoreRoot, openManifestStore } from "../manifest_store/open.ts";
import { type Command, UsageError } from "./command.ts";

const HELP = `mx8 resolve — resolve a dataset link to a pinned manifest hash

Usage:
  mx8 resolve LINK [--manifest-store DIR|s3://bucket/prefix]

LINK is BASE, BASE@refresh or BASE@sha256:<64 hex>; BASE is a local directory,
a local .tsv manifest (a path or file:///path), or s3://bucket/prefix.
  plain     use BASE's current snapshot while BASE still holds what it was
            indexed from (its manifest + labels, or no manifest); else index
  @refresh  re-index BASE now (one indexer per BASE at a time; others wait)
  @sha256:H use exactly manifest H (and its labels) from the store; never
            index; refused when BASE was repacked over H's shards

Options:
  --manifest-store ROOT  manifest store (default: $MX8_MANIFEST_STORE or ~/.mx8/manifests)
  -h, --help             show this help

Output (stdout, last line):
  manifest_hash=H samples=N

Environment: MX8_MANIFEST_STORE, MX8_S3_ENDPOINT / AWS_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`;

/** The `resolve` subcommand. */
export const resolveCommand: Command = {
  name: "resolve",
  summary: "resolve a dataset link to a pinned manifest hash",
  help: HELP,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { "manifest-store": { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? "missing LINK"
          : `expected one LINK, got ${positionals.length}`,
      );
    }
    const store = openManifestStore(
      values["manifest-store"] ?? defaultStoreRoot(),
    );
    const snap = await resolveDataset(positionals[0], {
      store,
      onWaitForLock: () =>
        console.error(
          `mx8 resolve: waiting for another indexer of ${positionals[0]}…`,
        ),
    });
    console.log(
      `base=${snap.base} store=${store.root} indexed=${snap.indexed}`,
    );
    console.log(`manifest_hash=${snap.manifestHash} samples=${snap.samples}`);
    return 0;
  },
};
