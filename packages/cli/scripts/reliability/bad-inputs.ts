// One table of bad inputs to the public entry points of core, samplers,
// diffusion, vae, gan, autoregressive, datasets and metrics, and the family
// adapters' calls (generated over FAMILIES). Each row names the entry point,
// the argument, the bad value and the SculptError text it must give; the
// unit test turns each row into a test (a SculptError, that text, 0 tensors
// leaked) and the soak runs each row 100 times.
import { charTokenizer, GptModel } from '@sculpt/autoregressive';
import { decodePngPixels, imageGrid, karrasSigmas, Normal, Rng } from '@sculpt/core';
import { makeImageSet, shapeImages, textWindowsArray } from '@sculpt/datasets';
import { DiffusionModel } from '@sculpt/diffusion';
import { CycleGanModel, GanModel } from '@sculpt/gan';
import { bitsPerDim, frechetDistance, negativeElbo, precisionRecall } from '@sculpt/metrics';
import { getSampler } from '@sculpt/samplers';
import { interpolate, samplePrior, VaeModel, VqVaeModel } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import type { FamilyAdapter, FamilyModel } from '../../src/family.js';

/** Tiny models the rows call; made once per test file, disposed after. */
export interface BadInputContext {
  diffusion: DiffusionModel;
  vae: VaeModel;
  gan: GanModel;
  gpt: GptModel;
  vq: VqVaeModel;
  cycle: CycleGanModel;
  /** One smoke model per registered family, by name. */
  families: Map<string, FamilyModel>;
  /** Keeps a row's own input tensors, which the caller disposes after the row (so only the library's leaks count). */
  inputs: tf.Tensor[];
}

/** One row: calling `run` must throw (or reject with) a SculptError whose message matches `expected`. */
export interface BadInput {
  entry: string;
  argument: string;
  value: string;
  run: (ctx: BadInputContext) => unknown;
  expected: RegExp;
}

/** Makes the context's package models (the families' models are added by the caller). */
export function packageModels(): Omit<BadInputContext, 'families' | 'inputs'> {
  const tokenizer = charTokenizer({ text: 'abcdefgh ' });
  return {
    diffusion: DiffusionModel.create({ preset: 'tiny', imageShape: [8, 8, 1] } as never, {
      seed: 0,
    }),
    vae: VaeModel.create('tiny', { seed: 0 }),
    gan: GanModel.create('tiny', { seed: 0 }),
    gpt: GptModel.create({ tokenizer, preset: 'tiny', seed: 0 }),
    vq: VqVaeModel.create('tiny-vq', { seed: 0 }),
    cycle: CycleGanModel.create('tiny-cycle', { seed: 0 }),
  };
}

/** One row of the table. */
export const row = (
  entry: string,
  argument: string,
  value: string,
  run: BadInput['run'],
  expected: RegExp,
): BadInput => ({
  entry,
  argument,
  value,
  run,
  expected,
});

/** A row's input tensor, kept in `c.inputs` for the caller to dispose. */
export function input<T extends tf.Tensor>(c: BadInputContext, make: () => T): T {
  const t = make();
  c.inputs.push(t);
  return t;
}

export const image = (c: BadInputContext, shape: [number, number, number, number], fill = 0) =>
  input(c, () => tf.fill(shape, fill) as tf.Tensor4D);
export const zeros = (c: BadInputContext, shape: number[]) => input(c, () => tf.zeros(shape));

/** The rows of the packages' entry points. */
export const PACKAGE_BAD_INPUTS: readonly BadInput[] = [
  // core
  row('Rng', 'seed', '-1', () => new Rng(-1), /Rng.*seed/),
  row('Rng', 'seed', 'NaN', () => new Rng(Number.NaN), /Rng.*seed/),
  row('Rng.normal', 'shape', '[2, -1]', () => new Rng(0).normal([2, -1]), /shape/),
  row(
    'karrasSigmas',
    'numSteps',
    '0',
    () => karrasSigmas({ numSteps: 0, sigmaMin: 0.1, sigmaMax: 10 }),
    /karrasSigmas.*numSteps/,
  ),
  row(
    'karrasSigmas',
    'sigmaMin',
    '> sigmaMax',
    () => karrasSigmas({ numSteps: 4, sigmaMin: 10, sigmaMax: 1 }),
    /karrasSigmas/,
  ),
  row('Normal', 'scale', '-1', () => new Normal({ loc: 0, scale: -1 }), /Normal.*scale/),
  row('imageGrid', 'images', 'rank 3', (c) => imageGrid(zeros(c, [2, 2, 1]) as never), /imageGrid/),
  row(
    'decodePngPixels',
    'bytes',
    'not a PNG',
    () => decodePngPixels(new Uint8Array([1, 2, 3])),
    /PNG/i,
  ),
  // samplers
  row('getSampler', 'name', "'no-such'", () => getSampler('no-such'), /no-such/),
  // diffusion
  row(
    'DiffusionModel.sample',
    'numSamples',
    '1e9',
    (c) => c.diffusion.sample({ numSamples: 1e9 }),
    /numSamples/,
  ),
  row(
    'DiffusionModel.sample',
    'steps',
    '-3',
    (c) => c.diffusion.sample({ numSamples: 1, steps: -3 }),
    /steps/,
  ),
  row(
    'DiffusionModel.sample',
    'sigmas',
    'empty',
    (c) => c.diffusion.sample({ numSamples: 1, sigmas: new Float32Array(0) }),
    /sigmas/,
  ),
  row(
    'DiffusionModel.img2img',
    'image',
    'NaN pixels',
    (c) => c.diffusion.img2img({ image: image(c, [1, 8, 8, 1], Number.NaN) }),
    /NaN|finite/,
  ),
  row(
    'DiffusionModel.img2img',
    'strength',
    '2',
    (c) => c.diffusion.img2img({ image: image(c, [1, 8, 8, 1]), strength: 2 }),
    /strength/,
  ),
  row(
    'DiffusionModel.inpaint',
    'mask',
    'missing',
    (c) => c.diffusion.inpaint({ image: image(c, [1, 8, 8, 1]) } as never),
    /mask/,
  ),
  row(
    'DiffusionModel.fromBytes',
    'bytes',
    '3 bytes',
    () => DiffusionModel.fromBytes(new Uint8Array(3)),
    /fromBytes|checkpoint/,
  ),
  // vae
  row('VaeModel.encode', 'x', 'wrong shape', (c) => c.vae.encode(image(c, [1, 5, 5, 1])), /shape/),
  row(
    'VaeModel.decode',
    'z',
    'wrong width',
    (c) => c.vae.decode(zeros(c, [1, 99])),
    /latent|shape/,
  ),
  row('samplePrior', 'n', '0', (c) => samplePrior(c.vae, 0, new Rng(0)), /samplePrior.*n/),
  row('samplePrior', 'n', '1e9', (c) => samplePrior(c.vae, 1e9, new Rng(0)), /samplePrior.*n/),
  row(
    'samplePrior',
    'temperature',
    'NaN',
    (c) => samplePrior(c.vae, 1, new Rng(0), Number.NaN),
    /temperature/,
  ),
  row(
    'interpolate',
    'steps',
    '1.5',
    (c) => interpolate(zeros(c, [4]), zeros(c, [4]), 1.5),
    /interpolate.*steps/,
  ),
  // gan
  row('GanModel.sample', 'numSamples', '0', (c) => c.gan.sample({ numSamples: 0 }), /numSamples/),
  row(
    'GanModel.sample',
    'numSamples',
    '1e9',
    (c) => c.gan.sample({ numSamples: 1e9 }),
    /numSamples/,
  ),
  row(
    'GanModel.generate',
    'z',
    'wrong width',
    (c) => c.gan.generate(zeros(c, [1, 3]) as tf.Tensor2D),
    /shape|latent/,
  ),
  row(
    'GanModel.discriminate',
    'images',
    'wrong size',
    (c) => c.gan.discriminate(image(c, [1, 5, 5, 1])),
    /shape|images/,
  ),
  // autoregressive
  row(
    'GptModel.generate',
    'maxNewTokens',
    '-1',
    (c) => c.gpt.generate({ prompt: 'ab', maxNewTokens: -1 }),
    /maxNewTokens/,
  ),
  row(
    'GptModel.generate',
    'maxNewTokens',
    '1e9',
    (c) => c.gpt.generate({ prompt: 'ab', maxNewTokens: 1e9 }),
    /maxNewTokens/,
  ),
  row(
    'GptModel.generate',
    'temperature',
    'NaN',
    (c) => c.gpt.generate({ prompt: 'ab', temperature: Number.NaN }),
    /temperature/,
  ),
  row('GptModel.generate', 'topP', '2', (c) => c.gpt.generate({ prompt: 'ab', topP: 2 }), /topP/),
  row(
    'GptModel.generate',
    'prompt',
    "'zzz' (not in the vocabulary)",
    (c) => c.gpt.generate({ prompt: 'zzz' }),
    /z/,
  ),
  // datasets
  row(
    'shapeImages',
    'count',
    '-1',
    () => shapeImages({ count: -1, rng: new Rng(0) }),
    /shapeImages.*count/,
  ),
  row(
    'makeImageSet',
    'images',
    'wrong length',
    () => makeImageSet({ images: new Float32Array(5), height: 2, width: 2, channels: 1 } as never),
    /makeImageSet/,
  ),
  row(
    'textWindowsArray',
    'blockSize',
    'longer than the text',
    () => textWindowsArray(new Int32Array(4), { batchSize: 1, blockSize: 10, rng: new Rng(0) }),
    /textWindows/,
  ),
  // metrics
  row(
    'frechetDistance',
    'a',
    'empty',
    () =>
      frechetDistance(
        { data: new Float32Array(0), rows: 0, cols: 2 },
        { data: new Float32Array(0), rows: 0, cols: 2 },
      ),
    /gaussianStats: need at least 2 samples/,
  ),
  row(
    'frechetDistance',
    'a.data',
    'shorter than rows × cols',
    () =>
      frechetDistance(
        { data: new Float32Array(3), rows: 4, cols: 2 },
        { data: new Float32Array(8), rows: 4, cols: 2 },
      ),
    /rows × cols/,
  ),
  row('bitsPerDim', 'numDims', '0', () => bitsPerDim(1, 0), /bitsPerDim.*numDims/),
  row(
    'negativeElbo',
    'kl',
    'length differs',
    () => negativeElbo({ reconstruction: [1, 2], kl: [1] }),
    /negativeElbo/,
  ),
  row(
    'precisionRecall',
    'k',
    '0',
    () =>
      precisionRecall(
        { data: new Float32Array(8), rows: 4, cols: 2 } as never,
        { data: new Float32Array(8), rows: 4, cols: 2 } as never,
        { k: 0 },
      ),
    /precisionRecall.*k/,
  ),
];

/** The rows of a family adapter's model calls: the same for every registered family. */
export function familyBadInputs(family: FamilyAdapter): BadInput[] {
  const name = family.name;
  const model = (c: BadInputContext) => c.families.get(name) as FamilyModel;
  const rows = [
    row(
      `${name}: train`,
      'steps',
      '-1',
      (c) => model(c).train({ steps: -1, onStep: () => {} }),
      /steps/,
    ),
    row(
      `${name}: train`,
      'steps',
      'NaN',
      (c) => model(c).train({ steps: Number.NaN, onStep: () => {} }),
      /steps/,
    ),
  ];
  if (family.generates === 'images') {
    const sample = (c: BadInputContext, numSamples: number) => {
      const m = model(c);
      return m.kind === 'images' ? m.sample({ numSamples, seed: 0, steps: 2 }) : undefined;
    };
    rows.push(row(`${name}: sample`, 'numSamples', '0', (c) => sample(c, 0), /numSamples|n /));
    rows.push(row(`${name}: sample`, 'numSamples', '1e9', (c) => sample(c, 1e9), /numSamples|n /));
    rows.push(
      row(`${name}: sample`, 'numSamples', 'NaN', (c) => sample(c, Number.NaN), /numSamples|n /),
    );
  } else {
    const generate = async (c: BadInputContext, maxNewTokens: number) => {
      const m = model(c);
      if (m.kind === 'text')
        for await (const piece of m.generate({ prompt: '', maxNewTokens, seed: 0 })) void piece;
    };
    rows.push(
      row(`${name}: generate`, 'maxNewTokens', '-1', (c) => generate(c, -1), /maxNewTokens/),
    );
    rows.push(
      row(`${name}: generate`, 'maxNewTokens', '1e9', (c) => generate(c, 1e9), /maxNewTokens/),
    );
  }
  return rows;
}

/**
 * Calls a row once, disposing what it returns and its own inputs.
 *
 * @returns what it threw (undefined when it did not throw).
 * @example
 * ```ts
 * const error = await callRow(PACKAGE_BAD_INPUTS[0], ctx);
 * ```
 */
export async function callRow(r: BadInput, ctx: BadInputContext): Promise<unknown> {
  try {
    tf.dispose((await r.run(ctx)) as tf.Tensor);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    tf.dispose(ctx.inputs);
    ctx.inputs.length = 0;
  }
}

/**
 * Calls every row `repeats` times (after one warm-up call each) and counts the
 * tensors left behind per row.
 *
 * @returns rows run, calls made, rows that leaked (with the count) and the total leaked.
 * @example
 * ```ts
 * const { leaked } = await soakRows(rows, ctx, 100); // 0 is the pass
 * ```
 */
export async function soakRows(
  rows: readonly BadInput[],
  ctx: BadInputContext,
  repeats: number,
): Promise<{
  rows: number;
  calls: number;
  leaked: number;
  leaking: { row: string; tensors: number }[];
}> {
  const leaking: { row: string; tensors: number }[] = [];
  for (const r of rows) {
    await callRow(r, ctx);
    const before = tf.memory().numTensors;
    for (let i = 0; i < repeats; i++) await callRow(r, ctx);
    const tensors = tf.memory().numTensors - before;
    if (tensors !== 0) leaking.push({ row: `${r.entry} ${r.argument} = ${r.value}`, tensors });
  }
  const leaked = leaking.reduce((n, l) => n + l.tensors, 0);
  return { rows: rows.length, calls: rows.length * (repeats + 1), leaked, leaking };
}
