import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, SculptError } from '../errors.js';
import type { TrainState } from '../train/state.js';
import {
  packTrainingCheckpoint,
  restoreTrainer,
  unpackTrainingCheckpoint,
} from './training-checkpoint.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const w = tf.tensor1d([1, 2, 3]);
const packed = () =>
  packTrainingCheckpoint({
    kind: 'demo.model',
    version: 2,
    config: { width: 3 },
    weights: { w },
    extra: { note: 'x' },
  });

describe('training checkpoints', () => {
  it('unpacks what it packed, and refuses another kind with the fix', () => {
    const parts = unpackTrainingCheckpoint('test', packed(), 'demo.model');
    expect(parts.version).toBe(2);
    expect(parts.config).toEqual({ width: 3 });
    expect(parts.weights.w).toBe(w);
    expect(parts.trainer).toBeUndefined();
    expect(parts.extra).toEqual({ note: 'x' });
    expect(() => unpackTrainingCheckpoint('test', packed(), 'other.model')).toThrow(
      CheckpointError,
    );
    expect(() => unpackTrainingCheckpoint('test', packed(), 'other.model')).toThrow(
      /expected a 'other.model' checkpoint, got kind 'demo.model'/,
    );
  });

  it("reads a `sculpt train` run's checkpoint ({ run, model }) as the model inside it", () => {
    const inner = packed();
    const run = { tensors: inner.tensors, json: { run: { family: 'demo' }, model: inner.json } };
    const parts = unpackTrainingCheckpoint('test', run, 'demo.model');
    expect(parts.config).toEqual({ width: 3 });
    expect(parts.weights.w).toBe(w);
    const noModel = { tensors: inner.tensors, json: { run: { family: 'demo' } } };
    expect(() => unpackTrainingCheckpoint('test', noModel, 'demo.model')).toThrow(/kind missing/);
  });
});

describe('restoreTrainer', () => {
  const state: TrainState = { tensors: { m: tf.tensor1d([0, 0, 0]) }, json: { step: 4 } };
  const withState = () =>
    packTrainingCheckpoint({
      kind: 'demo.model',
      version: 1,
      config: { width: 3 },
      weights: { w: tf.tensor1d([1, 2, 3]) },
      trainer: state,
      extra: { trainOptions: { lr: 0.5 } },
    });
  /** A model owning one tensor, and a trainer that records what it was given. */
  const restorer = (fail?: 'trainer' | 'state') => {
    const freed: string[] = [];
    return {
      freed,
      spec: {
        kind: 'demo.model',
        modelName: 'DemoModel',
        model: (_where: string, c: { tensors: Record<string, tf.Tensor> }) => {
          const w = tf.clone(c.tensors['model/w']);
          const dispose = () => {
            freed.push('model');
            w.dispose();
          };
          return { w, dispose };
        },
        trainer: (_m: unknown, extra: Record<string, unknown>) => {
          if (fail === 'trainer') throw new SculptError('demo', 'a schedule', 'none', 'pass one');
          return { extra, step: 0, dispose: () => void freed.push('trainer') };
        },
        setState: (t: { step: number }, s: TrainState) => {
          if (fail === 'state') throw new Error('state does not fit');
          t.step = (s.json as { step: number }).step;
        },
      },
    };
  };

  it('builds the model, then the trainer from the stored options, then restores its state', () => {
    const { spec } = restorer();
    const { model, trainer } = restoreTrainer('Demo.resume', withState(), spec);
    expect(Array.from(model.w.dataSync())).toEqual([1, 2, 3]);
    expect(trainer.extra).toEqual({ trainOptions: { lr: 0.5 } });
    expect(trainer.step).toBe(4);
    model.dispose();
  });

  it('refuses a model-only checkpoint, naming the model loader', () => {
    const { spec } = restorer();
    expect(() => restoreTrainer('Demo.resume', packed(), spec)).toThrow(
      /Demo.resume: expected a trainer checkpoint .* use DemoModel.load for weights only/,
    );
  });

  it('frees what it built when the trainer or its state fails, and leaks nothing', () => {
    const ckpt = withState();
    const before = tf.memory().numTensors;
    const a = restorer('trainer');
    expect(() => restoreTrainer('Demo.resume', ckpt, a.spec)).toThrow(/a schedule/);
    expect(a.freed).toEqual(['model']);
    const b = restorer('state');
    expect(() => restoreTrainer('Demo.resume', ckpt, b.spec)).toThrow(/does not fit/);
    expect(b.freed).toEqual(['trainer', 'model']);
    expect(tf.memory().numTensors).toBe(before);
  });
});
