import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init.js';
import { axisMoves, registerWasmLayoutKernels, simplifyPermutation } from './wasm-layout.js';

/** Transposes flat `values` of `shape` by `perm` with plain index arithmetic (the reference). */
function transposeReference(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((a) => shape[a]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(values.length);
  const index = new Array(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < perm.length; k++) src += index[k] * strides[perm[k]];
    out[o] = values[src];
    for (let k = outShape.length - 1; k >= 0; k--) {
      if (++index[k] < outShape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

describe('simplifyPermutation / axisMoves', () => {
  it('drops size-1 axes and merges axes that stay adjacent', () => {
    expect(simplifyPermutation([12, 64, 3, 4, 32], [2, 0, 3, 1, 4])).toEqual({
      shape: [12, 64, 3, 4, 32],
      perm: [2, 0, 3, 1, 4],
    });
    expect(simplifyPermutation([2, 3, 4, 5, 6], [0, 1, 4, 2, 3])).toEqual({
      shape: [6, 20, 6],
      perm: [0, 2, 1],
    });
    expect(simplifyPermutation([2, 1, 4, 5], [1, 0, 3, 2])).toEqual({
      shape: [2, 4, 5],
      perm: [0, 2, 1],
    });
  });
  it('realises a permutation as moves of one axis to the left', () => {
    expect(axisMoves([2, 0, 3, 1, 4])).toEqual([
      { from: 2, to: 0 },
      { from: 3, to: 2 },
    ]);
    expect(axisMoves([0, 1, 2])).toEqual([]);
  });
});

describe('wasm layout kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    registerWasmLayoutKernels();
  });
  const rng = new Rng(3);
  const cases: [number[], number[]][] = [
    [
      [512, 784],
      [1, 0],
    ],
    [
      [128, 200],
      [1, 0],
    ],
    [
      [3, 144, 128],
      [0, 2, 1],
    ],
    [
      [1, 96, 1, 256],
      [3, 1, 2, 0],
    ],
    [
      [12, 8, 3, 4, 5],
      [2, 0, 3, 1, 4],
    ],
    [
      [3, 5, 2, 4, 3, 2],
      [5, 3, 1, 0, 4, 2],
    ],
    [
      [4, 6, 7, 2, 3],
      [4, 3, 2, 1, 0],
    ],
    [
      [2, 3, 4, 5, 6],
      [0, 1, 4, 2, 3],
    ],
    [
      [5, 7, 3],
      [2, 0, 1],
    ],
    [
      [6, 1, 4, 1, 3],
      [4, 2, 0, 3, 1],
    ],
  ];
  it.each(cases)('transposes %j by %j exactly', (shape, perm) => {
    const x = rng.normal(shape);
    const values = x.dataSync() as Float32Array;
    const y = tf.transpose(x, perm);
    expect(y.shape).toEqual(perm.map((a) => shape[a]));
    expect(Array.from(y.dataSync())).toEqual(Array.from(transposeReference(values, shape, perm)));
    tf.dispose([x, y]);
  });
  it('tiles per-channel values over leading axes exactly (and other tilings still work)', () => {
    const x = rng.normal([1, 1, 1, 5]);
    const v = Array.from(x.dataSync());
    const y = tf.tile(x, [3, 4, 2, 1]);
    expect(y.shape).toEqual([3, 4, 2, 5]);
    expect(Array.from(y.dataSync())).toEqual(Array.from({ length: 24 }, () => v).flat());
    const z = tf.tile(tf.tensor2d([[1, 2]]), [2, 2]);
    expect(Array.from(z.dataSync())).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    tf.dispose([x, y, z]);
  });
  it('sums and averages a matrix over its rows (the leading-axes GEMV path)', () => {
    const x = rng.normal([37, 5]);
    const v = x.dataSync();
    const s = tf.sum(x, 0);
    const m = tf.mean(x, 0, true);
    expect(m.shape).toEqual([1, 5]);
    for (let c = 0; c < 5; c++) {
      let total = 0;
      for (let r = 0; r < 37; r++) total += v[r * 5 + c];
      expect(s.dataSync()[c]).toBeCloseTo(total, 4);
      expect(m.dataSync()[c]).toBeCloseTo(total / 37, 5);
    }
    tf.dispose([x, s, m]);
  });
  it('reduces over non-innermost axes like the cpu reference, with and without keepDims', () => {
    const shape = [4, 5, 6, 3, 2];
    const x = rng.normal(shape);
    const values = x.dataSync() as Float32Array;
    const before = tf.memory().numTensors;
    for (const axes of [[1, 2, 4], [0, 3], [0, 1, 2, 3], [2]]) {
      // Reference: sum by moving the reduced axes last in plain JS.
      const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
      const moved = transposeReference(values, shape, [...keep, ...axes]);
      const inner = axes.reduce((n, a) => n * shape[a], 1);
      const sums = Array.from({ length: moved.length / inner }, (_, o) =>
        moved.slice(o * inner, (o + 1) * inner).reduce((a, b) => a + b, 0),
      );
      for (const keepDims of [false, true]) {
        const s = tf.sum(x, axes, keepDims);
        const m = tf.mean(x, axes, keepDims);
        expect(s.shape).toEqual(
          keepDims ? shape.map((n, i) => (axes.includes(i) ? 1 : n)) : keep.map((i) => shape[i]),
        );
        const got = s.dataSync();
        const mean = m.dataSync();
        sums.forEach((v, i) => {
          expect(got[i]).toBeCloseTo(v, 4);
          expect(mean[i]).toBeCloseTo(v / inner, 5);
        });
        tf.dispose([s, m]);
      }
      const mx = tf.max(x, axes);
      const maxima = Array.from({ length: moved.length / inner }, (_, o) =>
        Math.max(...moved.slice(o * inner, (o + 1) * inner)),
      );
      expect(Array.from(mx.dataSync())).toEqual(maxima.map((v) => Math.fround(v)));
      mx.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
