// Rng gives the same numbers on every backend: its bits are made on the CPU
// (Threefry) and only uploaded; bernoulli(tensor) and categorical finish on
// the device with a comparison / argMax, which must not change the outcome.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  requireBackend,
  runOn,
  type StartedBackends,
  startSuiteBackends,
} from './backends.test-util.js';

const SEED = 1234;

/** Every kind of draw, in a fixed order, from a fresh Rng(SEED). */
function draws(): tf.Tensor[] {
  const rng = new Rng(SEED);
  const normal = rng.normal([257]);
  const shifted = rng.normal([3, 5], { mean: 2, std: 0.5 });
  const uniform = rng.uniform([301]);
  const ranged = rng.uniform([4, 4], { min: -3, max: 7 });
  const coin = rng.bernoulli(0.3, [500]);
  // Inputs made on the CPU, so only Rng's own device work can differ.
  const coins = rng.bernoulli(tf.tensor1d(Float32Array.from({ length: 200 }, (_, i) => i / 199)));
  const logits = tf.tensor2d(
    Float32Array.from({ length: 6 * 9 }, (_, i) => 2 * Math.sin(0.37 * i)),
    [6, 9],
  );
  const picks = tf.cast(rng.categorical(logits, 40), 'float32');
  return [normal, shifted, uniform, ranged, coin, coins, picks];
}

let reference: Float32Array[];
let backends: StartedBackends;

beforeAll(async () => {
  backends = await startSuiteBackends();
  reference = await runOn('cpu', draws);
});

describe('Rng on every backend', () => {
  it('cpu draws are what the CPU-side generator says', () => {
    const rng = new Rng(SEED);
    expect(reference[0]).toEqual(rng.normalArray(257));
    // Sanity: the categorical draws are real indices and not all the same.
    const picks = reference[6];
    expect(picks.every((v) => Number.isInteger(v) && v >= 0 && v < 9)).toBe(true);
    expect(new Set(picks).size).toBeGreaterThan(3);
  });

  it.for(['wasm', 'webgpu'] as const)(
    '%s gives bit-identical normal, uniform, bernoulli and categorical draws',
    async (backend, ctx) => {
      if (!requireBackend(backends, backend)) ctx.skip('SCULPT_SKIP_WEBGPU=1');
      const actual = await runOn(backend, draws);
      const names = [
        'normal',
        'normal(mean, std)',
        'uniform',
        'uniform(min, max)',
        'bernoulli(p)',
        'bernoulli(tensor)',
        'categorical',
      ];
      for (let k = 0; k < names.length; k++) {
        expect(Array.from(actual[k]), `${names[k]} on ${backend}`).toEqual(
          Array.from(reference[k]),
        );
      }
    },
  );
});
