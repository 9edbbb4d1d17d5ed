/**
 * `mx8`: the single executable (coordinator, agent, pack, tui, resolve, demo).
 *
 * @module
 */
import { main } from "./lib/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
