import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build of tfjs-core ships none)
import { beforeAll, describe, expect, it } from 'vitest';
import { AbortError, NonFiniteLossError, SculptError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { expectNoLeak } from '../testing/index.js';
import { adam, adamW } from './optimizers.js';
import { warmupCosineLr } from './schedules.js';
import { type Batch, noisyRegression, regressionBatch } from './trainer.fixtures.js';
import { type LossFn, type StepResult, Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mse: LossFn<Batch> = (p, { x, y }) =>
  tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, p.w), p.b), y))) as tf.Scalar;

function linearParams(): { w: tf.Variable; b: tf.Variable } {
  return { w: tf.variable(tf.zeros([3, 1])), b: tf.variable(tf.zeros([1])) };
}

describe('Trainer learns', () => {
  it('linear regression: loss below 1e-4 and weights within 1e-2 of the truth', async () => {
    const params = linearParams();
    const trainer = new Trainer({
      params,
      loss: mse,
      optimizer: adam(),
      learningRate: warmupCosineLr({ peak: 0.1, warmupSteps: 10, totalSteps: 300 }),
      rng: new Rng(1),
    });
    const res = await trainer.fit({ data: (_, rng) => regressionBatch(rng, 32), steps: 300 });
    expect(res.stepsRun).toBe(300);
    expect(res.step).toBe(300);
    expect(res.last!.loss).toBeLessThan(1e-4);
    const w = params.w.dataSync();
    [1, -2, 0.5].forEach((t, i) => {
      expect(Math.abs(w[i] - t)).toBeLessThan(1e-2);
    });
    expect(Math.abs(params.b.dataSync()[0] - 0.3)).toBeLessThan(1e-2);
    trainer.dispose();
    tf.dispose(Object.values(params));
  });

  it('a tiny tanh MLP fits sin(x) on [-3, 3] (MSE below 0.01, from ~0.5)', async () => {
    const init = new Rng(3);
    const params = {
      w1: tf.variable(init.normal([1, 16], { std: 1 })),
      b1: tf.variable(tf.zeros([16])),
      w2: tf.variable(init.normal([16, 1], { std: 0.25 })),
      b2: tf.variable(tf.zeros([1])),
    };
    const grid = tf.reshape(tf.linspace(-3, 3, 64), [64, 1]);
    const target = tf.sin(grid);
    const loss: LossFn<null> = (p) => {
      const h = tf.tanh(tf.add(tf.matMul(grid, p.w1), p.b1));
      return tf.mean(tf.square(tf.sub(tf.add(tf.matMul(h, p.w2), p.b2), target))) as tf.Scalar;
    };
    const trainer = new Trainer({
      params,
      loss,
      optimizer: adamW({ learningRate: 0.03, weightDecay: 1e-4 }),
      clipNorm: 1,
    });
    const first = await trainer.step(null);
    const res = await trainer.fit({ data: () => null, steps: 400 });
    expect(first.loss).toBeGreaterThan(0.1);
    expect(res.last!.loss).toBeLessThan(0.01);
    trainer.dispose();
    tf.dispose([grid, target, ...Object.values(params)]);
  });
});

describe('Trainer.step', () => {
  it('reports loss, terms, gradient norm (before clipping) and lr as numbers', async () => {
    const params = { w: tf.variable(tf.tensor1d([3, 4])) };
    // loss = ½‖w‖² has gradient w: norm 5 at the start.
    const trainer = new Trainer<null>({
      params,
      loss: (p) => {
        const half = tf.mul(tf.sum(tf.square(p.w)), 0.5) as tf.Scalar;
        return { loss: half, terms: { half, first: tf.gather(p.w, 0) as tf.Scalar } };
      },
      optimizer: adam({ learningRate: 0.5 }),
      clipNorm: 1,
    });
    const r = await trainer.step(null);
    expect(r).toEqual({
      step: 1,
      loss: 12.5,
      terms: { half: 12.5, first: 3 },
      gradNorm: 5,
      lr: 0.5,
    });
    // Adam's first step is lr·sign(g) whatever the clipping: w → [2.5, 3.5].
    expect(Array.from(params.w.dataSync()).map((x) => +x.toFixed(5))).toEqual([2.5, 3.5]);
    trainer.dispose();
    params.w.dispose();
  });

  it('leaks nothing (after the first step has made the optimizer moments)', async () => {
    const params = linearParams();
    const rng = new Rng(5);
    const batch = regressionBatch(rng, 8);
    const trainer = new Trainer({
      params,
      loss: noisyRegression,
      optimizer: adam(),
      clipNorm: 1,
      ema: { decay: 0.9 },
      rng,
    });
    await trainer.step(batch);
    await expectNoLeak(() => trainer.step(batch), { label: 'Trainer.step' });
    trainer.dispose();
    tf.dispose([batch.x, batch.y, ...Object.values(params)]);
  });

  it('refuses a loss that is not a scalar and a schedule that gives NaN', async () => {
    const params = { w: tf.variable(tf.ones([2])) };
    const before = tf.memory().numTensors;
    const vector = new Trainer<null>({
      params,
      loss: (p) => tf.square(p.w) as unknown as tf.Scalar,
      optimizer: adam(),
    });
    await expect(vector.step(null)).rejects.toThrow(
      /Trainer.step: expected the loss and its terms to be scalar tensors, got the loss with shape \[2\]. Fix: reduce with tf.mean or tf.sum/,
    );
    const badTerm = new Trainer<null>({
      params,
      loss: (p) => ({ loss: tf.sum(p.w) as tf.Scalar, terms: { sq: tf.square(p.w) as tf.Scalar } }),
      optimizer: adam(),
    });
    await expect(badTerm.step(null)).rejects.toThrow(/got term 'sq' with shape \[2\]/);
    const nan = new Trainer<null>({
      params,
      loss: (p) => tf.sum(p.w) as tf.Scalar,
      optimizer: adam(),
      learningRate: () => Number.NaN,
    });
    await expect(nan.step(null)).rejects.toThrow(/finite rate ≥ 0 at step index 0, got NaN/);
    expect(tf.memory().numTensors).toBe(before);
    params.w.dispose();
  });
});

describe('NaN/Inf guard', () => {
  it('stops at the first non-finite term, names step and term, and applies no update', async () => {
    const params = linearParams();
    const trainer = new Trainer<Batch & { bad: boolean }>({
      params,
      loss: (p, b) => {
        const fit = mse(p, b, new Rng(0)) as tf.Scalar;
        const kl = tf.log(tf.scalar(b.bad ? -1 : 1)) as tf.Scalar; // log(−1) = NaN
        return { loss: tf.add(fit, kl) as tf.Scalar, terms: { mse: fit, kl } };
      },
      optimizer: adam({ learningRate: 0.1 }),
    });
    const seen: number[] = [];
    const run = trainer.fit({
      data: (step, rng) => ({ ...regressionBatch(rng, 8), bad: step === 2 }),
      steps: 5,
      callbacks: { onStep: (r) => void seen.push(r.step) },
    });
    // The loss itself is NaN first (it includes kl), so the message names the loss.
    await expect(run).rejects.toThrow(NonFiniteLossError);
    await expect(run).rejects.toThrow(
      /Trainer.step: expected a finite loss, terms and gradient norm at step 3, got NaN in the loss \(no update applied\)/,
    );
    expect(seen).toEqual([1, 2]);
    expect(trainer.stepCount).toBe(2);
    trainer.dispose();
    tf.dispose(Object.values(params));
  });

  it('names a non-finite term when the loss is finite', async () => {
    const params = { w: tf.variable(tf.ones([2])) };
    const before = tf.memory().numTensors;
    const trainer = new Trainer<null>({
      params,
      loss: (p) => ({
        loss: tf.sum(p.w) as tf.Scalar,
        terms: { ratio: tf.div(tf.scalar(1), tf.scalar(0)) as tf.Scalar },
      }),
      optimizer: adam(),
    });
    await expect(trainer.step(null)).rejects.toThrow(
      /at step 1, got Infinity in term 'ratio' \(no update applied\). Fix: lower the learning rate, set clipNorm, or check the batch for NaN\/Inf/,
    );
    expect(Array.from(params.w.dataSync())).toEqual([1, 1]);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    params.w.dispose();
  });

  it('catches a NaN gradient behind a finite loss (√‖w‖² at w = 0)', async () => {
    const params = { w: tf.variable(tf.zeros([3])) };
    const trainer = new Trainer<null>({
      params,
      loss: (p) => tf.sqrt(tf.sum(tf.square(p.w))) as tf.Scalar,
      optimizer: adam(),
    });
    await expect(trainer.step(null)).rejects.toThrow(/got NaN in the gradient norm/);
    expect(Array.from(params.w.dataSync())).toEqual([0, 0, 0]);
    trainer.dispose();
    params.w.dispose();
  });
});

/** Trains `steps` steps of the noisy regression (data and loss both draw from the Rng) and returns the trainer. */
function makeTrainer(params: Record<string, tf.Variable>, seed: number): Trainer<Batch> {
  return new Trainer({
    params,
    loss: noisyRegression,
    optimizer: adamW({ learningRate: 0.05, weightDecay: 0.01 }),
    learningRate: warmupCosineLr({ peak: 0.05, warmupSteps: 3, totalSteps: 10 }),
    clipNorm: 0.5,
    ema: { decay: 0.9 },
    rng: new Rng(seed),
  });
}
const data = (_: number, rng: Rng): Batch => regressionBatch(rng, 8);

describe('resume', () => {
  it('10 steps straight = 5 steps → getState → fresh trainer + setState → 5 steps, bit for bit', async () => {
    const straightParams = linearParams();
    const straight = makeTrainer(straightParams, 11);
    const straightLosses: StepResult[] = [];
    await straight.fit({
      data,
      steps: 10,
      callbacks: { onStep: (r) => void straightLosses.push(r) },
    });

    const firstParams = linearParams();
    const first = makeTrainer(firstParams, 11);
    await first.fit({ data, steps: 5 });
    const state = first.getState();
    const json = JSON.parse(JSON.stringify(state.json));
    expect(Object.keys(state.tensors).sort()).toEqual([
      'ema/b',
      'ema/w',
      'optimizer/b/m',
      'optimizer/b/v',
      'optimizer/w/m',
      'optimizer/w/v',
    ]);
    expect(json.step).toBe(5);
    const savedParams = { w: tf.clone(firstParams.w), b: tf.clone(firstParams.b) };
    first.dispose();
    tf.dispose(Object.values(firstParams));

    const resumedParams = { w: tf.variable(savedParams.w), b: tf.variable(savedParams.b) };
    const resumed = makeTrainer(resumedParams, 999); // the seed is overwritten by setState
    resumed.setState({ tensors: state.tensors, json });
    tf.dispose([...Object.values(state.tensors), ...Object.values(savedParams)]);
    expect(resumed.stepCount).toBe(5);
    const resumedLosses: StepResult[] = [];
    await resumed.fit({ data, steps: 5, callbacks: { onStep: (r) => void resumedLosses.push(r) } });

    expect(resumedLosses).toEqual(straightLosses.slice(5));
    expect(resumedParams.w.dataSync()).toEqual(straightParams.w.dataSync());
    expect(resumedParams.b.dataSync()).toEqual(straightParams.b.dataSync());
    expect(resumed.ema!.get('w').dataSync()).toEqual(straight.ema!.get('w').dataSync());
    // Not vacuous: training moved the weights.
    expect(Math.abs(straightParams.w.dataSync()[0])).toBeGreaterThan(0.05);
    straight.dispose();
    resumed.dispose();
    tf.dispose([...Object.values(straightParams), ...Object.values(resumedParams)]);
  });
});

describe('Trainer.fit', () => {
  it('an AbortSignal stops between steps with AbortError; fitting the rest equals a straight run', async () => {
    const straightParams = linearParams();
    const straight = makeTrainer(straightParams, 21);
    await straight.fit({ data, steps: 10 });

    const params = linearParams();
    const trainer = makeTrainer(params, 21);
    const controller = new AbortController();
    const run = trainer.fit({
      data,
      steps: 10,
      signal: controller.signal,
      callbacks: { onStep: (r) => void (r.step === 3 && controller.abort()) },
    });
    await expect(run).rejects.toThrow(AbortError);
    await expect(run).rejects.toThrow(
      /Trainer.fit: expected to run 10 steps, got aborted after 3 \(trainer at step 3\)/,
    );
    expect(trainer.stepCount).toBe(3);
    await trainer.fit({ data, steps: 7 });
    expect(params.w.dataSync()).toEqual(straightParams.w.dataSync());
    straight.dispose();
    trainer.dispose();
    tf.dispose([...Object.values(straightParams), ...Object.values(params)]);
  });

  it('calls onProgress every step and onEpoch at each pass over an iterable (restarted)', async () => {
    const params = linearParams();
    const rng = new Rng(4);
    const batches = [regressionBatch(rng, 4), regressionBatch(rng, 4)];
    const trainer = new Trainer({ params, loss: mse, optimizer: adam() });
    const progress: [number, number, number][] = [];
    const epochs: number[] = [];
    await trainer.fit({
      data: batches,
      steps: 5,
      disposeBatches: false,
      callbacks: {
        onProgress: (p) => void progress.push([p.step, p.done, p.total]),
        onEpoch: (e) => void epochs.push(e),
      },
    });
    expect(progress).toEqual([1, 2, 3, 4, 5].map((i) => [i, i, 5]));
    expect(epochs).toEqual([1, 2]);
    // stepsPerEpoch for function data.
    epochs.length = 0;
    await trainer.fit({
      data,
      steps: 4,
      stepsPerEpoch: 3,
      callbacks: { onEpoch: (e) => void epochs.push(e) },
    });
    expect(epochs).toEqual([2, 3]); // trainer steps 6..9: 6 = 3·2, 9 = 3·3
    trainer.dispose();
    tf.dispose([...batches.flatMap((b) => [b.x, b.y]), ...Object.values(params)]);
  });

  it('an async generator that runs dry fails with a clear error', async () => {
    const params = linearParams();
    const trainer = new Trainer({ params, loss: mse, optimizer: adam() });
    async function* once(): AsyncGenerator<Batch> {
      yield regressionBatch(new Rng(1), 4);
    }
    await expect(trainer.fit({ data: once(), steps: 3 })).rejects.toThrow(
      /expected the data iterable to yield batches, got none after epoch 1/,
    );
    expect(trainer.stepCount).toBe(1);
    trainer.dispose();
    tf.dispose(Object.values(params));
  });

  it('leaks nothing, batches included', async () => {
    const params = linearParams();
    const trainer = makeTrainer(params, 2);
    await trainer.fit({ data, steps: 1 });
    await expectNoLeak(() => trainer.fit({ data, steps: 3 }), { label: 'Trainer.fit' });
    trainer.dispose();
    tf.dispose(Object.values(params));
  });
});

describe('Trainer options', () => {
  it.each([
    [
      { learningRate: -0.1 },
      /Trainer: learningRate must be a finite number ≥ 0 or a schedule, got -0.1/,
    ],
    [
      { clipNorm: 0 },
      /Trainer: clipNorm must be a finite number > 0, got 0. Fix: leave clipNorm out to disable clipping/,
    ],
    [{ clipNorm: -1 }, /clipNorm must be a finite number > 0, got -1/],
    [{ ema: { decay: 1 } }, /ExponentialMovingAverage: decay must be in \[0, 1\), got 1/],
    [{ ema: { decay: -0.5 } }, /decay must be in \[0, 1\), got -0.5/],
  ])('rejects %j', (extra, message) => {
    const params = linearParams();
    const make = () => new Trainer({ params, loss: mse, optimizer: adam(), ...extra });
    expect(make).toThrow(SculptError);
    expect(make).toThrow(message);
    tf.dispose(Object.values(params));
  });

  it('rejects empty params, non-variables and bad fit options', async () => {
    expect(() => new Trainer({ params: {}, loss: mse, optimizer: adam() })).toThrow(
      /Trainer: params must be a non-empty record of tf.Variable/,
    );
    const params = linearParams();
    const trainer = new Trainer({ params, loss: mse, optimizer: adam() });
    await expect(trainer.fit({ data, steps: -1 })).rejects.toThrow(
      /Trainer.fit: steps must be an integer ≥ 0, got -1/,
    );
    await expect(trainer.fit({ data: 3 as never, steps: 1 })).rejects.toThrow(
      /data must be a function/,
    );
    trainer.dispose();
    tf.dispose(Object.values(params));
  });
});
