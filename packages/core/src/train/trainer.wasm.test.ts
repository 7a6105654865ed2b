// The resume guarantee on the wasm backend (skipped where wasm cannot start).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build of tfjs-core ships none)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../random/rng.js';
import { expectNoLeak } from '../testing/index.js';
import { adamW } from './optimizers.js';
import { warmupCosineLr } from './schedules.js';
import { type Batch, noisyRegression, regressionBatch } from './trainer.fixtures.js';
import { Trainer } from './trainer.js';

let wasm = false;
beforeAll(async () => {
  wasm = await tf.setBackend('wasm').catch(() => false);
});
afterAll(() => {
  tf.removeBackend('wasm');
});

const data = (_: number, rng: Rng): Batch => regressionBatch(rng, 8);
const params = () => ({ w: tf.variable(tf.zeros([3, 1])), b: tf.variable(tf.zeros([1])) });
const make = (p: Record<string, tf.Variable>) =>
  new Trainer({
    params: p,
    loss: noisyRegression,
    optimizer: adamW({ learningRate: 0.05 }),
    learningRate: warmupCosineLr({ peak: 0.05, warmupSteps: 3, totalSteps: 10 }),
    clipNorm: 0.5,
    ema: { decay: 0.9 },
    rng: new Rng(7),
  });

describe('Trainer on wasm', () => {
  it('resumes bit-identically and leaks nothing', async (ctx) => {
    if (!wasm) ctx.skip();
    expect(tf.getBackend()).toBe('wasm');
    const a = params();
    const straight = make(a);
    await straight.fit({ data, steps: 10 });

    const b = params();
    const first = make(b);
    await first.fit({ data, steps: 5 });
    const state = first.getState();
    const resumed = make(b); // same params object, fresh optimizer and EMA
    first.dispose();
    resumed.setState(state);
    tf.dispose(Object.values(state.tensors));
    await expectNoLeak(() => resumed.fit({ data, steps: 5 }), { label: 'Trainer.fit (wasm)' });

    expect(b.w.dataSync()).toEqual(a.w.dataSync());
    expect(b.b.dataSync()).toEqual(a.b.dataSync());
    expect(resumed.ema!.get('w').dataSync()).toEqual(straight.ema!.get('w').dataSync());
    straight.dispose();
    resumed.dispose();
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  });
});
