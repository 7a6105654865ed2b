// Bad inputs to @sculpt/latent's public calls, from one table: each row gives a
// SculptError with its text and leaks no tensor, called once and then 100 times
// (the error paths' soak).
import { initBackend } from '@sculpt/backend';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatentDiffusionModel, latentConfig } from './index.js';

let model: LatentDiffusionModel;
beforeAll(async () => {
  await initBackend('cpu');
  model = LatentDiffusionModel.create('tiny', { seed: 0 });
  (await model.sample({ prompts: ['a'], steps: 2 })).dispose(); // fills the model's caches
});
afterAll(() => model.dispose());

const sample = (options: Record<string, unknown>) => () =>
  model.sample({ prompts: ['a'], steps: 2, ...options } as never);

const ROWS: [string, string, () => unknown, RegExp][] = [
  [
    'LatentDiffusionModel.create',
    "preset 'nope'",
    () => LatentDiffusionModel.create('nope'),
    /expected a preset/,
  ],
  [
    'latentConfig',
    'latentChannels 0',
    () => latentConfig({ preset: 'tiny', autoencoder: { latentChannels: 0 } } as never),
    /latent grid/,
  ],
  [
    'LatentDiffusionModel.sample',
    'prompts []',
    sample({ prompts: [] }),
    /array of 1 to 4096 strings/,
  ],
  [
    'LatentDiffusionModel.sample',
    "prompts 'abc'",
    sample({ prompts: 'abc' }),
    /array of 1 to 4096 strings.*got string/,
  ],
  [
    'LatentDiffusionModel.sample',
    'prompts × 1e6',
    sample({ prompts: Array(1e6).fill('a') }),
    /sample in batches/,
  ],
  [
    'LatentDiffusionModel.sample',
    'guidanceScale NaN',
    sample({ guidanceScale: Number.NaN }),
    /guidanceScale/,
  ],
  ['LatentDiffusionModel.sample', 'steps 0', sample({ steps: 0 }), /numSteps/],
  ['LatentDiffusionModel.sample', 'steps 1e9', sample({ steps: 1e9 }), /\[1, 100,000\]/],
  [
    'LatentDiffusionModel.sample',
    "sampler 'nope'",
    sample({ sampler: 'nope' }),
    /registered sampler/,
  ],
  ['LatentDiffusionModel.sample', 'seed -1', sample({ seed: -1 }), /seed/],
  [
    'PromptEncoder.encode',
    'prompts 5',
    () => model.text.encode(5 as never),
    /array of prompt strings/,
  ],
  ['PromptEncoder.encode', 'prompt 5', () => model.text.encode([5 as never]), /a prompt string/],
];

async function caught(run: () => unknown): Promise<unknown> {
  try {
    tf.dispose((await run()) as tf.Tensor);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('bad inputs give a SculptError naming the problem, and leak nothing (100 times)', () => {
  it.each(ROWS)('%s %s', async (_entry, _value, run, expected) => {
    const before = tf.memory().numTensors;
    const error = await caught(run);
    expect(error).toBeInstanceOf(SculptError);
    expect((error as Error).message).toMatch(expected);
    for (let i = 0; i < 100; i++) await caught(run);
    expect(tf.memory().numTensors).toBe(before);
  });
});
