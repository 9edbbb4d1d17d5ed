/**
 * A small seeded pseudo-random generator for deterministic shuffles.
 *
 * @module
 */

const MASK64 = (1n << 64n) - 1n;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * Deterministic pseudo-random numbers: xoshiro128** seeded through
 * splitmix64 from a 64-bit seed and a 64-bit stream (e.g. the epoch). The
 * same seed and stream always give the same sequence; another stream gives
 * an unrelated one. Not for cryptography.
 *
 * @example Shuffle deterministically
 * ```ts
 * import assert from "node:assert/strict";
 * import { Prng } from "./prng.ts";
 *
 * const a = new Prng(42n, 0).shuffle([1, 2, 3, 4, 5]);
 * const b = new Prng(42n, 0).shuffle([1, 2, 3, 4, 5]);
 * assert.deepEqual(a, b);
 * assert.deepEqual([...a].sort(), [1, 2, 3, 4, 5]);
 * ```
 */
export class Prng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * Creates a generator.
   *
   * @param seed Any integer; taken modulo 2^64.
   * @param stream Any integer selecting an independent sequence; taken modulo 2^64.
   * @throws {RangeError} If `seed` or `stream` is a number that is not a safe integer.
   */
  constructor(seed: bigint | number, stream: bigint | number = 0n) {
    let state = toU64(seed, "seed");
    const first = splitmix64(state);
    state = first.value ^ toU64(stream, "stream");
    const a = splitmix64(state);
    const b = splitmix64(a.state);
    this.#s0 = Number(a.value & 0xffff_ffffn);
    this.#s1 = Number(a.value >> 32n);
    this.#s2 = Number(b.value & 0xffff_ffffn);
    this.#s3 = Number(b.value >> 32n);
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * The next 32-bit unsigned integer.
   *
   * @returns An integer in `[0, 2^32)`.
   */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /**
   * A uniform integer below `n`, without modulo bias.
   *
   * @param n Exclusive upper bound, an integer in `[1, 2^32]`.
   * @returns An integer in `[0, n)`.
   * @throws {RangeError} If `n` is out of bounds.
   */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Bound must be an integer in [1, 2^32]: ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }

  /**
   * Shuffles an array in place (Fisher–Yates).
   *
   * @typeParam T The element type.
   * @param items The array to shuffle.
   * @returns The same array, shuffled.
   */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextBelow(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

function toU64(value: bigint | number, what: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`Prng ${what} must be a safe integer: ${value}`);
  }
  return BigInt.asUintN(64, BigInt(value));
}

function splitmix64(state: bigint): { state: bigint; value: bigint } {
  const next = (state + 0x9e37_79b9_7f4a_7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & MASK64;
  return { state: next, value: z ^ (z >> 31n) };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
