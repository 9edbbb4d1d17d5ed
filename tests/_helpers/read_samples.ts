/**
 * Test helper: reads every sample of a dataset link through the real
 * `DataLoader` and returns their bytes as text, sorted, to compare with
 * the files the dataset was packed from (a manifest hash alone cannot see
 * shards holding another pack's bytes).
 *
 * @module
 */
import { DataLoader } from "../../lib/loader/data_loader.ts";
import { openManifestStore } from "../../lib/manifest_store/open.ts";

/**
 * Reads all samples of `link`.
 *
 * @param link Dataset link.
 * @param storeDir Manifest store directory to resolve it with.
 * @returns Each sample's bytes decoded as UTF-8, sorted.
 */
export async function readAllSamples(
  link: string,
  storeDir: string,
): Promise<string[]> {
  await using loader = new DataLoader(link, {
    batchSizeSamples: 64,
    manifestStore: openManifestStore(storeDir),
    log: () => {},
  });
  const dec = new TextDecoder();
  const out: string[] = [];
  for await (const b of loader) {
    for (let i = 0; i < b.sampleIds.length; i++) {
      out.push(dec.decode(b.sample(i)));
    }
  }
  return out.sort();
}

/**
 * The contents of a tree as `readAllSamples` returns them.
 *
 * @param files Relative path → content.
 * @returns The contents, sorted.
 */
export function contentsOf(files: Record<string, string>): string[] {
  return Object.values(files).sort();
}
