import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import { expectNoLeak } from '../testing/index.js';
import { checkpointFromBytes, checkpointToBytes } from './checkpoint.js';
import { assignModelWeights, expectTrainingWeights, weightSpecs } from './model-weights.js';
import { packTrainingCheckpoint } from './training-checkpoint.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const KIND = 'test.model';
/** A two-layer "model" whose weight shapes come from its config. */
function build(config: { width: number }) {
  const params = tf.tidy(() => ({
    'a.kernel': tf.variable(tf.zeros([2, config.width])),
    'b.kernel': tf.variable(tf.zeros([config.width, 2])),
    'b.step': tf.variable(tf.zeros([1], 'int32')),
  }));
  return { params, dispose: () => tf.dispose(Object.values(params)) };
}
const LOAD = expectTrainingWeights(KIND, (config) =>
  weightSpecs(build(config as { width: number }), (m) => m.params),
);

async function bytesOf(weights: Record<string, tf.Tensor>, width = 3): Promise<Uint8Array> {
  const trainer = { tensors: { 'adam.m': tf.ones([2]) }, json: { step: 1 } };
  const bytes = await checkpointToBytes(
    packTrainingCheckpoint({ kind: KIND, version: 1, config: { width }, weights, trainer }),
  );
  tf.dispose(trainer.tensors['adam.m']);
  return bytes;
}

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return (error as Error).message;
  }
  throw new Error('expected a CheckpointError');
};

describe('expectTrainingWeights', () => {
  it('loads a matching checkpoint (trainer/ tensors allowed) and builds nothing that outlives it', async () => {
    const m = build({ width: 3 });
    const bytes = await bytesOf(m.params);
    await expectNoLeak(() => Object.values(checkpointFromBytes(bytes, LOAD).tensors));
    m.dispose();
  });

  it('names a missing, an extra, a reshaped and a retyped weight before making any tensor', async () => {
    const w = {
      'a.kernel': tf.zeros([2, 3]),
      'b.kernel': tf.zeros([3, 3]),
      'b.step': tf.zeros([1]),
      'c.extra': tf.zeros([1]),
    };
    const bytes = await bytesOf(w);
    const before = tf.memory().numTensors;
    const text = message(() => checkpointFromBytes(bytes, LOAD));
    expect(tf.memory().numTensors).toBe(before);
    expect(text).toContain('"model/b.kernel" has shape [3, 3], expected [3, 2]');
    expect(text).toContain('"model/b.step" is float32, expected int32');
    expect(text).toContain('"model/c.extra" is not expected');
    const { 'a.kernel': _gone, ...missing } = w;
    const missingBytes = await bytesOf(missing);
    expect(message(() => checkpointFromBytes(missingBytes, LOAD))).toContain(
      '"model/a.kernel" is missing',
    );
    tf.dispose(Object.values(w));
  });

  it('reads the model document inside a `sculpt train` checkpoint', async () => {
    const m = build({ width: 4 });
    const inner = packTrainingCheckpoint({
      kind: KIND,
      version: 1,
      config: { width: 3 },
      weights: m.params,
    });
    const bytes = await checkpointToBytes({
      tensors: inner.tensors,
      json: { run: {}, model: inner.json },
    });
    expect(message(() => checkpointFromBytes(bytes, LOAD))).toContain(
      '"model/a.kernel" has shape [2, 4]',
    );
    m.dispose();
  });

  it('leaves a checkpoint of another kind to the family (no expect applied)', async () => {
    const m = build({ width: 3 });
    const bytes = await checkpointToBytes(
      packTrainingCheckpoint({
        kind: 'other',
        version: 1,
        config: { width: 9 },
        weights: m.params,
      }),
    );
    const back = checkpointFromBytes(bytes, LOAD);
    tf.dispose(Object.values(back.tensors));
    m.dispose();
  });
});

describe('assignModelWeights', () => {
  it('assigns every weight when all match, and nothing when one differs', () => {
    const m = build({ width: 3 });
    const good = {
      'a.kernel': tf.ones([2, 3]),
      'b.kernel': tf.ones([3, 2]),
      'b.step': tf.ones([1], 'int32'),
    };
    assignModelWeights('test', m.params, good);
    expect(m.params['a.kernel'].dataSync()[0]).toBe(1);
    const swapped = { ...good, 'a.kernel': tf.fill([2, 3], 7), extra: tf.zeros([1]) };
    expect(message(() => assignModelWeights('test', m.params, swapped))).toContain(
      '"extra" is not expected',
    );
    expect(m.params['a.kernel'].dataSync()[0]).toBe(1);
    tf.dispose([...Object.values(good), swapped['a.kernel'], swapped.extra]);
    m.dispose();
  });
});
