// Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random numbers:
// as easy as 1, 2, 3"), the counter-based generator JAX uses for its keys.
// Only 32-bit adds, rotations and xors: exact in JavaScript on every platform.

const ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
] as const;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/**
 * Encrypts the 64-bit counter `(c0, c1)` under the 64-bit key `(k0, k1)` and
 * writes the two 32-bit outputs into `out[offset]`, `out[offset + 1]`.
 */
export function threefry2x32(
  k0: number,
  k1: number,
  c0: number,
  c1: number,
  out: Uint32Array,
  offset: number,
): void {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let group = 0; group < 5; group++) {
    for (const r of ROTATIONS[group % 2]) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, r) ^ x0;
    }
    x0 = (x0 + ks[(group + 1) % 3]) >>> 0;
    x1 = (x1 + ks[(group + 2) % 3] + group + 1) >>> 0;
  }
  out[offset] = x0;
  out[offset + 1] = x1 >>> 0;
}
