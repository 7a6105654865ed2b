// More rows of the bad-input table, from an audit of each package's exports
// (optimizers, schedules, distributions, PNG and checkpoint I/O, token
// processors, datasets, metrics, trainers, tokenizers, VQ-VAE and CycleGAN),
// including the upper bounds that refuse what cannot be allocated.
import { charTokenizer, GptTrainer, trainBpe } from '@sculpt/autoregressive';
import {
  adam,
  betaSchedule,
  Categorical,
  checkpointFromBytes,
  clipByGlobalNorm,
  encodePng,
  exponentialSigmas,
  karrasSigmas,
  noiseSchedule,
  Rng,
  saveCheckpoint,
  sgd,
  vpSigmas,
} from '@sculpt/core';
import {
  captionImageSet,
  digitCaption,
  imageSetTensors,
  shapeImages,
  subsetImages,
  textWindowsArray,
} from '@sculpt/datasets';
import { DiffusionModel, DiffusionTrainer } from '@sculpt/diffusion';
import { GanModel, GanTrainer, generatorLoss } from '@sculpt/gan';
import {
  classAccuracy,
  importanceWeightedBound,
  languageModelScores,
  negativeElbo,
} from '@sculpt/metrics';
import {
  beamSearch,
  createTokenSampler,
  greedy,
  minPProcessor,
  repetitionPenaltyProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
} from '@sculpt/samplers';
import { VaeModel, VaeTrainer } from '@sculpt/vae';
import { type BadInput, image, row, zeros } from './bad-inputs.js';

const set = () => shapeImages({ count: 4, rng: new Rng(0), size: 8 });
const big = 1e12;

/** The audit's rows (the test and the soak run them with the first table's). */
export const AUDIT_BAD_INPUTS: readonly BadInput[] = [
  // core: optimizers, clipping, schedules, distributions, I/O
  row('adam', 'learningRate', '-1', () => adam({ learningRate: -1 }), /adam: learningRate/),
  row('sgd', 'learningRate', 'NaN', () => sgd({ learningRate: Number.NaN }), /sgd: learningRate/),
  row(
    'clipByGlobalNorm',
    'maxNorm',
    '-1',
    (c) => clipByGlobalNorm({ w: zeros(c, [2]) }, -1),
    /maxNorm/,
  ),
  row(
    'noiseSchedule',
    'numTrainTimesteps',
    '0',
    () => noiseSchedule({ numTrainTimesteps: 0 }),
    /numTrainTimesteps/,
  ),
  row(
    'noiseSchedule',
    'kind',
    "'nope'",
    () => noiseSchedule({ kind: 'nope' as never }),
    /kind must be one of/,
  ),
  row(
    'betaSchedule',
    'numTrainTimesteps',
    '1e12',
    () => betaSchedule('linear', big),
    /at most 1,000,000/,
  ),
  row(
    'exponentialSigmas',
    'numSteps',
    '1e12',
    () => exponentialSigmas({ numSteps: big, sigmaMin: 0.1, sigmaMax: 10 }),
    /\[1, 100,000\]/,
  ),
  row(
    'karrasSigmas',
    'numSteps',
    '1e9',
    () => karrasSigmas({ numSteps: 1e9, sigmaMin: 0.1, sigmaMax: 10 }),
    /\[1, 100,000\]/,
  ),
  row('vpSigmas', 'numSteps', '-1', () => vpSigmas({ numSteps: -1 }), /numSteps/),
  row(
    'Rng.normal',
    'shape',
    '[1e6, 1e6]',
    () => new Rng(0).normal([1e6, 1e6]),
    /per draw.*smaller batches/,
  ),
  row(
    'Categorical',
    'logits',
    'rank 0',
    (c) => new Categorical({ logits: zeros(c, []) }),
    /rank ≥ 1/,
  ),
  row(
    'checkpointFromBytes',
    'bytes',
    'a string',
    () => checkpointFromBytes('abc' as never),
    /Uint8Array/,
  ),
  row(
    'saveCheckpoint',
    'json',
    'NaN',
    () => saveCheckpoint('unused-dir', { tensors: {}, json: { a: Number.NaN } }),
    /plain JSON/,
  ),
  row(
    'encodePng',
    'image',
    'rank 4',
    (c) => encodePng(image(c, [1, 2, 2, 1]) as never),
    /encodePng/,
  ),
  row('Rng.uniformArray', 'n', '1e12', () => new Rng(0).uniformArray(big), /per draw/),
  row('Rng.permutation', 'n', '1e12', () => new Rng(0).permutation(big), /per draw/),
  // samplers: token processors and search
  row('topKProcessor', 'topK', '0', () => topKProcessor({ topK: 0 }), /topK/),
  row('topPProcessor', 'topP', '2', () => topPProcessor({ topP: 2 }), /topP/),
  row('minPProcessor', 'minP', '2', () => minPProcessor({ minP: 2 }), /minP/),
  row(
    'temperatureProcessor',
    'temperature',
    '0',
    () => temperatureProcessor({ temperature: 0 }),
    /temperature/,
  ),
  row(
    'repetitionPenaltyProcessor',
    'penalty',
    '0',
    () => repetitionPenaltyProcessor({ penalty: 0 }),
    /penalty/,
  ),
  row('greedy', 'logits', 'rank 1', (c) => greedy(zeros(c, [3]) as never), /rank 2/),
  row(
    'createTokenSampler',
    'strategy',
    "'nope'",
    () => createTokenSampler({ strategy: 'nope' } as never),
    /strategy/,
  ),
  row(
    'beamSearch',
    'numBeams',
    '0',
    () =>
      beamSearch(
        (() => undefined) as never,
        { prompt: [1], numBeams: 0, maxNewTokens: 2 } as never,
      ),
    /numBeams/,
  ),
  // datasets
  row(
    'shapeImages',
    'count',
    '1e9',
    () => shapeImages({ count: 1e9, rng: new Rng(0), size: 8 }),
    /pixels in all/,
  ),
  row(
    'textWindowsArray',
    'batchSize',
    '1e9',
    () => textWindowsArray(new Int32Array(100), { batchSize: 1e9, blockSize: 8, rng: new Rng(0) }),
    /per draw/,
  ),
  row('subsetImages', 'indices', '[99]', () => subsetImages(set(), [99]), /indices/),
  row(
    'imageSetTensors',
    'range',
    "'x'",
    () => imageSetTensors(set(), { range: 'x' as never }),
    /range must be/,
  ),
  row(
    'captionImageSet',
    'rng',
    'missing',
    () => captionImageSet({ set: set() } as never),
    /an rng/,
  ),
  row('digitCaption', 'digit', '11', () => digitCaption({ digit: 11 }), /digit/),
  // metrics
  row('classAccuracy', 'labels', 'shorter', () => classAccuracy([1, 2], [1]), /equal length/),
  row(
    'importanceWeightedBound',
    'numSamples',
    '0',
    () => importanceWeightedBound([1, 2], 0),
    /numSamples/,
  ),
  row(
    'negativeElbo',
    'kl',
    'shorter',
    () => negativeElbo({ reconstruction: [1, 2], kl: [1] }),
    /one value per example/,
  ),
  row(
    'languageModelScores',
    'numTokens',
    '0',
    () => languageModelScores({ totalNats: 1, numTokens: 0 }),
    /numTokens/,
  ),
  // diffusion
  row(
    'DiffusionModel.create',
    'preset',
    "'nope'",
    () => DiffusionModel.create('nope'),
    /known preset/,
  ),
  row(
    'DiffusionTrainer',
    'learningRate',
    '-1',
    (c) => new DiffusionTrainer(c.diffusion, { learningRate: -1 }),
    /learningRate/,
  ),
  row(
    'DiffusionModel.img2img',
    'strength',
    'NaN',
    (c) =>
      c.diffusion.img2img({
        image: image(c, [1, 8, 8, 1]),
        strength: Number.NaN,
        steps: 2,
      } as never),
    /strength/,
  ),
  row(
    'DiffusionModel.sample',
    'labels',
    '[99]',
    (c) => c.diffusion.sample({ numSamples: 1, steps: 2, labels: [99] } as never),
    /labels/,
  ),
  row(
    'DiffusionModel.create',
    'unet.widths',
    '[1e6, 1e6]',
    () => DiffusionModel.create({ preset: 'tiny', unet: { widths: [1e6, 1e6] } } as never),
    /at most 4096/,
  ),
  // vae
  row('VaeModel.create', 'preset', "'nope'", () => VaeModel.create('nope' as never), /preset/),
  row(
    'VaeTrainer',
    'learningRate',
    'NaN',
    (c) => new VaeTrainer(c.vae, { learningRate: Number.NaN }),
    /learningRate/,
  ),
  row('VqVaeModel.encode', 'x', 'wrong shape', (c) => c.vq.encode(image(c, [1, 5, 5, 1])), /shape/),
  row(
    'VqVaeModel.decode',
    'latents',
    'wrong shape',
    (c) => c.vq.decode(zeros(c, [1, 9, 9]) as never),
    /shape/,
  ),
  row(
    'VaeModel.create',
    'latentDim',
    '1e9',
    () => VaeModel.create({ preset: 'tiny', latentDim: 1e9 } as never),
    /per draw/,
  ),
  // gan
  row(
    'GanModel.create',
    'latentDim',
    '0',
    () => GanModel.create({ preset: 'tiny', latentDim: 0 } as never),
    /latentDim/,
  ),
  row(
    'GanTrainer',
    'generatorLearningRate',
    '-1',
    (c) => new GanTrainer(c.gan, { generatorLearningRate: -1 }),
    /learningRate/,
  ),
  row(
    'generatorLoss',
    'kind',
    "'nope'",
    (c) => generatorLoss('nope' as never, zeros(c, [2]) as never),
    /expected loss/,
  ),
  row(
    'GanModel.sample',
    'truncation',
    '-1 (DCGAN)',
    (c) => c.gan.sample({ numSamples: 1, truncation: -1 } as never),
    /truncation/,
  ),
  row(
    'CycleGanModel.translate',
    'direction',
    "'sideways'",
    (c) => c.cycle.translate(image(c, [1, 8, 8, 1]), 'sideways' as never),
    /direction/,
  ),
  row(
    'CycleGanModel.translate',
    'images',
    'wrong shape',
    (c) => c.cycle.translate(image(c, [1, 5, 5, 1]), 'AtoB'),
    /shape/,
  ),
  row(
    'GanModel.create',
    'latentDim',
    '1e9',
    () => GanModel.create({ preset: 'tiny', latentDim: 1e9 } as never),
    /per draw/,
  ),
  // autoregressive
  row('charTokenizer', 'text', "''", () => charTokenizer({ text: '' }), /at least one character/),
  row('trainBpe', 'vocabSize', '10', () => trainBpe({ text: 'abc', vocabSize: 10 }), /vocabSize/),
  row(
    'Tokenizer.encode',
    'text',
    '123',
    (c) => c.gpt.tokenizer.encode(123 as never),
    /text must be a string/,
  ),
  row('Tokenizer.decode', 'ids', '[9999]', (c) => c.gpt.tokenizer.decode([9999]), /token ids/),
  row(
    'GptTrainer',
    'learningRate',
    '-1',
    (c) => new GptTrainer(c.gpt, { learningRate: -1 }),
    /learningRate/,
  ),
  row('GptModel.score', 'text', "''", (c) => c.gpt.score(''), /at least two tokens/),
  row(
    'GptModel.generate',
    'topK',
    '0',
    (c) => c.gpt.generate({ prompt: 'ab', topK: 0 } as never),
    /topK/,
  ),
  row(
    'GptModel.generate',
    'prompt',
    '100,000 tokens',
    (c) => c.gpt.generate({ prompt: 'a'.repeat(100_000), maxNewTokens: 1 }),
    /shorter than the context/,
  ),
];
