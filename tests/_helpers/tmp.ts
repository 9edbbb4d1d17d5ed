/**
 * Test helper: temporary directories removed with `await using`.
 *
 * @module
 */

/** A temporary directory that removes itself. */
export interface TempDir {
  /** Its path. */
  path: string;
  /** Removes it. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a temporary directory.
 *
 * @param prefix Name prefix.
 * @returns The directory handle.
 */
export async function tempDir(prefix = "mx8-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () =>
      Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/**
 * Writes files (relative path → content) under a directory.
 *
 * @param root Directory.
 * @param files Relative paths and contents.
 */
export async function writeTree(
  root: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = `${root}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
}
