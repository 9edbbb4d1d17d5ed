/**
 * Store key rules: intent keys from dataset bases, and path-component checks.
 *
 * @module
 */
import { StoreError } from "../errors.ts";
import { normalizeBase } from "../link.ts";
import { sha256Hex } from "../util/sha256.ts";

/**
 * The intent key of a dataset base: `sha256_` + sha256(base without trailing /).
 *
 * @param base Dataset base (absolute local path or `s3://…`).
 * @returns The key.
 */
export function intentKey(base: string): string {
  return "sha256_" + sha256Hex(normalizeBase(base));
}

/**
 * Rejects path components that could escape the store (`/`, `\`, `..`, empty).
 *
 * @param what What the component is (for the message).
 * @param component The component.
 * @returns The component.
 * @throws {StoreError} When it is unsafe.
 */
export function safeComponent(what: string, component: string): string {
  if (
    component === "" || component === "." || component.includes("/") ||
    component.includes("\\") || component.includes("..") ||
    component.includes("\0")
  ) {
    throw new StoreError(
      `Refusing ${what} "${component}": store path components must not contain "/", "\\" or ".."`,
    );
  }
  return component;
}
