/**
 * SHA-256 (FIPS 180-4) in TypeScript: one-shot hex digests and an
 * incremental hasher for streams.
 *
 * Why not `node:crypto`: loading Deno's Node crypto layer costs ≈18 ms at
 * every `mx8` start, and the hashes here (manifests, store keys, the
 * embedded library) are a few MB at most per command. Measured against
 * `node:crypto` in `tests/util/sha256_test.ts`.
 *
 * @module
 */

const enc = new TextEncoder();

/** First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/** First 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0 = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

/**
 * An incremental SHA-256.
 *
 * @example Hash in pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sha256, sha256Hex } from "./sha256.ts";
 * const h = new Sha256();
 * h.update(new TextEncoder().encode("ab")).update(new TextEncoder().encode("c"));
 * assert.equal(h.digestHex(), sha256Hex("abc"));
 * assert.equal(sha256Hex("abc").slice(0, 8), "ba7816bf");
 * ```
 */
export class Sha256 {
  #h = new Uint32Array(H0);
  #w = new Uint32Array(64);
  #block = new Uint8Array(64);
  #fill = 0;
  #bytes = 0;
  #done = false;

  /**
   * Adds bytes.
   *
   * @param data The next bytes.
   * @returns This hasher.
   * @throws {Error} After `digestHex()`.
   */
  update(data: Uint8Array): this {
    if (this.#done) throw new Error("Sha256: update after digest");
    this.#bytes += data.length;
    let at = 0;
    if (this.#fill > 0) {
      const n = Math.min(64 - this.#fill, data.length);
      this.#block.set(data.subarray(0, n), this.#fill);
      this.#fill += n;
      at = n;
      if (this.#fill < 64) return this;
      this.#compress(this.#block, 0);
      this.#fill = 0;
    }
    for (; at + 64 <= data.length; at += 64) this.#compress(data, at);
    if (at < data.length) {
      this.#block.set(data.subarray(at), 0);
      this.#fill = data.length - at;
    }
    return this;
  }

  /**
   * Finishes the hash.
   *
   * @returns 64 lowercase hex digits.
   */
  digestHex(): string {
    if (!this.#done) {
      const bits = this.#bytes * 8;
      const tail = new Uint8Array(this.#fill < 56 ? 64 : 128);
      tail.set(this.#block.subarray(0, this.#fill));
      tail[this.#fill] = 0x80;
      const view = new DataView(tail.buffer);
      view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
      view.setUint32(tail.length - 4, bits >>> 0);
      for (let at = 0; at < tail.length; at += 64) this.#compress(tail, at);
      this.#done = true;
    }
    let hex = "";
    for (const v of this.#h) hex += v.toString(16).padStart(8, "0");
    return hex;
  }

  #compress(data: Uint8Array, at: number): void {
    const w = this.#w;
    for (let i = 0; i < 16; i++) {
      const j = at + 4 * i;
      w[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) |
        data[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^
        (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const h = this.#h;
    let a = h[0], b = h[1], c = h[2], d = h[3];
    let e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^
        ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^
        ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

/**
 * Returns the lowercase hex SHA-256 of bytes or UTF-8 text.
 *
 * @param data Bytes or text.
 * @returns 64 lowercase hex digits.
 */
export function sha256Hex(data: Uint8Array | string): string {
  return new Sha256().update(
    typeof data === "string" ? enc.encode(data) : data,
  ).digestHex();
}

/**
 * {@linkcode sha256Hex} of bytes through WebCrypto (native, ≈10× the
 * TypeScript hasher's speed): for manifests, which can be tens of MB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex, sha256HexAsync } from "./sha256.ts";
 * const b = new TextEncoder().encode("abc");
 * assert.equal(await sha256HexAsync(b), sha256Hex(b));
 * ```
 *
 * @param data Bytes.
 * @returns 64 lowercase hex digits.
 */
export async function sha256HexAsync(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}
