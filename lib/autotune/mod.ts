/**
 * Autotune (spec §7): an AIMD + PID-like controller that moves
 * `prefetchBatches`, `maxQueueBatches` and `want` inside the rails of a
 * profile (`safe`, `balanced`, `throughput`), and the default RSS cap derived
 * from the machine/cgroup memory. Everything here is pure except
 * {@linkcode readMachineMemory}.
 *
 * @example Tick a controller
 * ```ts
 * import assert from "node:assert/strict";
 * import { AutotuneController, knobsWithinRails } from "./mod.ts";
 *
 * const tuner = new AutotuneController("safe");
 * for (let tick = 0; tick < 10; tick++) {
 *   tuner.step({
 *     waitRatio: 0.5, rssBytes: 100, rssCapBytes: 1000,
 *     inflightBytes: 10, inflightCapBytes: 1000,
 *   });
 * }
 * assert.equal(tuner.lastDecision, "increase");
 * assert.ok(knobsWithinRails(tuner.knobs, tuner.profile));
 * ```
 *
 * @module
 */

export * from "./controller.ts";
export * from "./knobs.ts";
export * from "./machine_memory.ts";
export * from "./profiles.ts";
export * from "./rss_cap.ts";
