import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init.js';
import { registerWasmBatchMatMul } from './wasm-batch-matmul.js';

/** out[i] = op(a[i])·op(b[i]) in float64 JS loops, batch dims broadcast (the reference). */
function reference(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): number[] {
  const av = a.dataSync();
  const bv = b.dataSync();
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const n = transposeB ? br : bc;
  const batchA = av.length / (ar * ac);
  const batchB = bv.length / (br * bc);
  const batch = Math.max(batchA, batchB);
  const out: number[] = [];
  for (let i = 0; i < batch; i++) {
    const ao = (batchA === 1 ? 0 : i) * ar * ac;
    const bo = (batchB === 1 ? 0 : i) * br * bc;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let j = 0; j < k; j++) {
          const x = transposeA ? av[ao + j * ac + r] : av[ao + r * ac + j];
          const y = transposeB ? bv[bo + c * bc + j] : bv[bo + j * bc + c];
          sum += x * y;
        }
        out.push(sum);
      }
    }
  }
  return out;
}

describe('wasm BatchMatMul through XNNPACK per batch', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    registerWasmBatchMatMul();
  });
  const rng = new Rng(5);
  const cases: [number[], number[], boolean, boolean][] = [
    [[6, 9, 7], [6, 7, 5], false, false],
    [[6, 9, 7], [6, 5, 7], false, true],
    [[6, 7, 9], [6, 7, 5], true, false],
    [[6, 7, 9], [6, 5, 7], true, true],
    [[2, 3, 9, 7], [2, 3, 7, 5], false, false],
    [[4, 9, 7], [1, 7, 5], false, false],
    [[4, 9, 7], [7, 5], false, false],
    [[1, 9, 7], [4, 7, 5], false, false],
  ];
  it.each(cases)(
    '%j × %j (transposeA %s, transposeB %s) matches the reference',
    (aShape, bShape, tA, tB) => {
      const a = rng.normal(aShape);
      const b = rng.normal(bShape);
      const tensorsBefore = tf.memory().numTensors;
      const dataBefore = tf.engine().backend.numDataIds();
      const y = tf.matMul(a, b, tA, tB);
      const expected = reference(a, b, tA, tB);
      const got = Array.from(y.dataSync());
      expect(got.length).toBe(expected.length);
      const worst = Math.max(...got.map((v, i) => Math.abs(v - expected[i])));
      expect(worst).toBeLessThan(1e-4);
      y.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(tf.engine().backend.numDataIds()).toBe(dataBefore);
      tf.dispose([a, b]);
    },
  );
  it('gives gradients that match the reference products', () => {
    const a = rng.normal([5, 4, 3]);
    const b = rng.normal([5, 3, 6]);
    const dy = rng.normal([5, 4, 6]);
    const [da, db] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w), dy)))([
      a,
      b,
    ]);
    // da = dy·bᵀ, db = aᵀ·dy
    const worstA = Math.max(
      ...Array.from(da.dataSync()).map((v, i) => Math.abs(v - reference(dy, b, false, true)[i])),
    );
    const worstB = Math.max(
      ...Array.from(db.dataSync()).map((v, i) => Math.abs(v - reference(a, dy, true, false)[i])),
    );
    expect(Math.max(worstA, worstB)).toBeLessThan(1e-4);
    tf.dispose([a, b, dy, da, db]);
  });
});
