import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init.js';
import { registerWasmMathKernels } from './wasm-math.js';

const values = Array.from({ length: 401 }, (_, i) => (i - 200) / 20); // −10 … 10

describe('wasm math kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    registerWasmMathKernels();
  });

  it('tanh matches Math.tanh to float32 absolute precision', () => {
    const y = tf.tanh(tf.tensor1d(values));
    const got = y.dataSync();
    values.forEach((v, i) => expect(Math.abs(got[i] - Math.tanh(v))).toBeLessThan(3e-7));
    y.dispose();
  });

  it('pow with exponent 2 and 3 is exact products; other exponents still work', () => {
    const x = tf.tensor1d(values);
    for (const e of [2, 3]) {
      const y = tf.pow(x, e);
      const f = values.map(Math.fround);
      expect(Array.from(y.dataSync())).toEqual(
        f.map((v) => Math.fround(Math.fround(v * v) * (e === 3 ? v : 1))),
      );
      y.dispose();
    }
    const half = tf.pow(tf.abs(x), 0.5);
    half.dataSync().forEach((v, i) => expect(v).toBeCloseTo(Math.sqrt(Math.abs(values[i])), 5));
    tf.dispose([x, half]);
  });

  it('differentiates through the replaced kernels: d tanh = 1 − tanh², d x³ = 3x²', () => {
    const x = tf.tensor1d(values.slice(150, 250));
    const dTanh = tf
      .grad((t: tf.Tensor) => tf.sum(tf.tanh(t)))(x)
      .dataSync();
    const dCube = tf
      .grad((t: tf.Tensor) => tf.sum(tf.pow(t, 3)))(x)
      .dataSync();
    values.slice(150, 250).forEach((v, i) => {
      expect(dTanh[i]).toBeCloseTo(1 - Math.tanh(v) ** 2, 6);
      expect(dCube[i]).toBeCloseTo(3 * v * v, 4);
    });
    x.dispose();
  });

  it('identity and same-dtype cast share memory, survive the input, and leak nothing', () => {
    const before = tf.memory();
    const x = tf.tensor1d([1, -2, 3]);
    const copy = tf.clone(x);
    const same = tf.cast(x, 'float32');
    const ints = tf.cast(x, 'int32');
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, -2, 3]);
    expect(Array.from(same.dataSync())).toEqual([1, -2, 3]);
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([copy, same, ints]);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('a variable assigned from a clone keeps its value when the source is disposed', () => {
    const v = tf.variable(tf.zeros([2]));
    const src = tf.tensor1d([4, 5]);
    v.assign(tf.clone(src));
    src.dispose();
    expect(Array.from(v.dataSync())).toEqual([4, 5]);
    v.dispose();
  });
});
