import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init.js';

/** Runs `f` on the cpu backend and on wasm over the same values; returns both results' values. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<[number[][], number[][]]> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => [f()].flat().map((t) => Array.from(t.dataSync())));
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  return [cpu, wasm];
}

const ramp = (shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
  tf.reshape(
    tf.range(
      0,
      shape.reduce((a, b) => a * b, 1),
      1,
      dtype,
    ),
    shape,
  );

describe('wasm slice kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const cases: [number[], number[], number[]][] = [
    [
      [512, 512],
      [0, 0],
      [1, 1],
    ],
    [
      [6, 7],
      [2, 3],
      [3, -1],
    ],
    [
      [4, 5, 6],
      [1, 0, 2],
      [2, 5, 3],
    ],
    [
      [4, 5, 6],
      [1, 2, 0],
      [3, 2, 6],
    ],
    [
      [2, 3, 4, 5],
      [1, 1, 1, 1],
      [1, 2, 3, 4],
    ],
    [
      [2, 3, 4, 5, 2],
      [0, 1, 0, 2, 1],
      [2, 2, 4, 3, 1],
    ],
    [[9], [4], [3]],
    [
      [3, 4],
      [1, 0],
      [0, 4],
    ],
  ];
  it.each(cases)(
    'slice of %j at %j size %j matches the cpu backend',
    async (shape, begin, size) => {
      const [cpu, wasm] = await onBoth(() => tf.slice(ramp(shape), begin, size));
      expect(wasm).toEqual(cpu);
    },
  );

  it('int32 and bool slices keep their dtype and values', async () => {
    const [cpu, wasm] = await onBoth(() => [
      tf.slice(ramp([5, 4], 'int32'), [1, 1], [3, 2]),
      tf.slice(tf.greater(ramp([5, 4]), 7), [2, 0], [2, 4]),
    ]);
    expect(wasm).toEqual(cpu);
    const b = tf.slice(tf.greater(ramp([5, 4]), 7), [2, 0], [2, 4]);
    expect(b.dtype).toBe('bool');
    b.dispose();
  });

  it('split, unstack and stridedSlice match the cpu backend', async () => {
    const [cpu, wasm] = await onBoth(() => [
      ...tf.split(ramp([4, 6, 9]), [2, 3, 4], 2),
      ...tf.split(ramp([4, 6, 9]), 2, 1),
      ...tf.unstack(ramp([3, 4, 5]), 1),
      ...tf.unstack(ramp([3, 4, 5]), 0),
      tf.stridedSlice(ramp([6, 5]), [1, 0], [4, 5], [1, 1]),
      tf.stridedSlice(ramp([6, 5]), [0, 1], [6, 5], [2, 2]),
    ]);
    expect(wasm).toEqual(cpu);
  });

  it('gradients through slice and split match the cpu backend', async () => {
    const [cpu, wasm] = await onBoth(() => {
      const x = tf.mul(ramp([4, 6]), 0.1);
      const f = (t: tf.Tensor) => {
        const [a, b] = tf.split(t, [2, 4], 1);
        return tf.sum(tf.mul(tf.slice(a, [1, 0], [2, 2]), tf.sum(tf.square(b))));
      };
      return tf.grad(f)(x);
    });
    expect(wasm[0].length).toBe(24);
    wasm[0].forEach((v, i) => expect(v).toBeCloseTo(cpu[0][i], 3));
  });

  it('leaks nothing and keeps the input intact', async () => {
    await tf.setBackend('wasm');
    const x = ramp([8, 8]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose([tf.slice(x, [1, 1], [2, 2]), ...tf.split(x, 4, 0), ...tf.unstack(x)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(x.dataSync()).slice(0, 3)).toEqual([0, 1, 2]);
    x.dispose();
  });

  it('uses the in-place kernel on wasm (not the shipped one)', () => {
    const config = tf.getKernel('Slice', 'wasm') as unknown as Record<symbol, unknown>;
    expect(config[Symbol.for('sculpt.wasmSliceKernel')]).toBe(true);
  });
});
