// The diffusion family's schedule as the CLI wires it: a run planned in time
// decays its learning rate by the clock (a fake `performance.now`, moved one
// second per step), and a resumed run counts the seconds already spent.
import '@tensorflow/tfjs-layers';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { shapeImages } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FamilyModel, TrainingData } from '../family.js';
import { diffusionFamily } from './diffusion.js';
import { CLOCK_FLOOR } from './diffusion-lr.js';

const set = shapeImages({ count: 16, rng: new Rng(0), size: 8 });
const data: TrainingData = {
  kind: 'images',
  spec: 'shapes',
  train: set,
  heldOut: set,
  classNames: ['0', '1', '2'],
};
const peak = 2e-3;
const floor = peak * CLOCK_FLOOR;
/** The clock's cosine at the fraction `p` of the budget. */
const cosineAt = (p: number) => floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * p));

/** Trains `steps` steps, moving the fake clock one second after each; returns each step's lr. */
async function trainByTheSecond(run: FamilyModel, steps: number): Promise<number[]> {
  const rates: number[] = [];
  await run.train({
    steps,
    onStep: (r) => {
      rates.push(r.lr);
      vi.advanceTimersByTime(1000);
    },
  });
  return rates;
}

describe('diffusion family: learning rate of a run planned in time', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows the clock after warm-up, and resumes where the spent seconds left it', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const before = tf.memory().numTensors;
    const budget = { totalSeconds: 100, spentSeconds: 0 };
    const run = await diffusionFamily.create({
      preset: 'tiny',
      data,
      batchSize: 2,
      seed: 0,
      totalSteps: undefined,
      budget,
    });
    const rates = await trainByTheSecond(run, 55);
    expect(rates[0]).toBeCloseTo(peak / 50, 12); // warm-up: 50 steps
    expect(rates[49]).toBeCloseTo(peak, 12);
    // Step k (0-based) starts k seconds after the first: p = k/100, whatever the steps' speed.
    for (let k = 50; k < 55; k++) expect(rates[k]).toBeCloseTo(cosineAt(k / 100), 12);

    const checkpoint = run.checkpoint();
    run.dispose();
    const resumed = await diffusionFamily.restore(checkpoint, {
      data,
      totalSteps: undefined,
      budget: { totalSeconds: 100, spentSeconds: 80 },
    });
    tf.dispose(Object.values(checkpoint.tensors));
    const later = await trainByTheSecond(resumed, 3);
    expect(later.map((lr) => +lr.toPrecision(10))).toEqual(
      [0.8, 0.81, 0.82].map((p) => +cosineAt(p).toPrecision(10)),
    );
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
