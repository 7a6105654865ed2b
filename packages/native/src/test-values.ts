// Deterministic test inputs shared by the kernel tests (not part of the package's exports).

/** `n` deterministic values in [-1, 1) from a linear congruential sequence seeded by `seed`. */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** The worst |a − b| / (1 + |b|) over two arrays of one length (NaN when the lengths differ). */
export function worstRelative(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.NaN;
  let w = 0;
  for (let i = 0; i < b.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return w;
}
