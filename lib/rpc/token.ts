/**
 * Where the shared auth token comes from: `--auth-token-file F`, else the
 * environment variable `MX8_AUTH_TOKEN`, else no auth.
 *
 * @module
 */
import { Mx8Error, pathError } from "../errors.ts";

/** The environment variable holding the auth token. */
export const AUTH_TOKEN_ENV = "MX8_AUTH_TOKEN";

/** Options of {@linkcode loadAuthToken}. */
export interface LoadAuthTokenOptions {
  /** Token file (`--auth-token-file`); surrounding whitespace is ignored. */
  file?: string;
  /** Environment lookup (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
}

/**
 * Checks that a token can travel in an HTTP header.
 *
 * @param token The token.
 * @param source Where it came from, for the message.
 * @returns The token.
 * @throws {Mx8Error} If it is empty or holds whitespace or control characters.
 */
function checkToken(token: string, source: string): string {
  if (token === "") {
    throw new Mx8Error(`${source} is empty: put the shared token in it`);
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new Mx8Error(
      `${source} holds whitespace or non-ASCII characters: use a printable ASCII token`,
    );
  }
  return token;
}

/**
 * Loads the auth token: the file when given (it must exist and hold a
 * token), else `MX8_AUTH_TOKEN` when set and non-empty, else `undefined`
 * (auth off).
 *
 * @param options Token file and environment lookup.
 * @returns The token, or `undefined` when auth is off.
 * @throws {Mx8Error} If the file cannot be read, is empty or the token is not printable ASCII.
 *
 * @example Token from the environment
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAuthToken } from "./token.ts";
 *
 * const env = (name: string) => name === "MX8_AUTH_TOKEN" ? "s3cret" : undefined;
 * assert.equal(await loadAuthToken({ env }), "s3cret");
 * assert.equal(await loadAuthToken({ env: () => undefined }), undefined);
 * ```
 */
export async function loadAuthToken(
  options: LoadAuthTokenOptions = {},
): Promise<string | undefined> {
  if (options.file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(options.file);
    } catch (err) {
      throw pathError(err, options.file, "read auth token file");
    }
    return checkToken(text.trim(), `Auth token file ${options.file}`);
  }
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const value = env(AUTH_TOKEN_ENV)?.trim();
  if (value === undefined || value === "") return undefined;
  return checkToken(value, AUTH_TOKEN_ENV);
}
