// The discrete twin of latent diffusion (van den Oord et al. 2017, §3.2;
// Esser et al. 2021): a VQ-VAE turns an image into a grid of code indices,
// and a GPT from @sculpt/autoregressive learns p(codes) as a sequence in
// raster order, conditioned by one prefix token:
//
//   tokens  [cond, c₀, c₁, …, c_{hw−1}]     cond = numCodes + class, or numCodes + numClasses (none)
//   vocab   numCodes codes + numClasses class tokens + 1 unconditional token
//
// Sampling draws the codes one at a time (KV cache, Gumbel-max on the code
// logits only); vqPrior (./vq-pipeline.ts) decodes the grid with the VQ-VAE.

import {
  type GptConfig,
  gptConfig,
  gptForward,
  gptLoss,
  initGptParams,
  KvCache,
} from '@sculpt/autoregressive';
import {
  adamW,
  assignModelWeights,
  type Checkpoint,
  type FitCallbacks,
  type FitResult,
  type JsonValue,
  packTrainingCheckpoint,
  Rng,
  SculptError,
  Trainer,
  unpackTrainingCheckpoint,
} from '@sculpt/core';
import type { VqVaeModel } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import { batchIndices } from './batches.js';

/** Checkpoint JSON tag of a code prior. */
export const CODE_PRIOR_KIND = 'sculpt-code-prior';

/** The serialisable description of a {@link CodePrior}. */
export interface CodePriorConfig {
  /** Codes of the VQ-VAE's codebook, K. */
  readonly numCodes: number;
  /** The code grid `[h, w]`. */
  readonly gridShape: readonly [number, number];
  /** Class tokens (0 = unconditional only). */
  readonly numClasses: number;
  /** The GPT (vocabSize = K + numClasses + 1, contextLength = h·w). */
  readonly gpt: GptConfig;
}

/** Names of the prior sizes. */
export type CodePriorPreset = 'tiny' | 'mnist';

const SIZES: Record<CodePriorPreset, { numLayers: number; numHeads: number; embedDim: number }> = {
  tiny: { numLayers: 1, numHeads: 2, embedDim: 16 },
  mnist: { numLayers: 4, numHeads: 4, embedDim: 128 },
};

/**
 * A frozen {@link CodePriorConfig} sized to a VQ-VAE.
 * @example `const config = codePriorConfig({ vqvae, numClasses: 10, preset: 'mnist' })`
 */
export function codePriorConfig(options: {
  vqvae: VqVaeModel;
  numClasses: number;
  preset?: CodePriorPreset;
}): CodePriorConfig {
  const { vqvae, numClasses, preset = 'mnist' } = options;
  const size = SIZES[preset];
  if (!size || !(Number.isInteger(numClasses) && numClasses >= 0)) {
    throw new SculptError(
      'codePriorConfig',
      `expected a preset in ${Object.keys(SIZES).join(', ')} and an integer numClasses ≥ 0`,
      `got '${preset}', ${numClasses}`,
    );
  }
  const [h, w] = vqvae.gridShape;
  const numCodes = vqvae.getConfig().numCodes;
  const gpt = gptConfig('tiny', {
    ...size,
    vocabSize: numCodes + numClasses + 1,
    contextLength: h * w,
  });
  return Object.freeze({
    numCodes,
    gridShape: Object.freeze([h, w]) as readonly [number, number],
    numClasses,
    gpt,
  });
}

/** Options of {@link CodePrior.train}. */
export interface CodePriorTrainOptions {
  /** Code grids int32 `[N, h, w]` (`vqvae.encodeCodes`; not disposed). */
  codes: tf.Tensor3D;
  /** The class of each grid (−1 = none); omit for an unconditional prior. */
  labels?: ArrayLike<number>;
  steps: number;
  /** Default 64. */
  batchSize?: number;
  /** Default 1e-3. */
  learningRate?: number;
  /** Share of grids trained with the unconditional token. Default 0.1. */
  labelDropout?: number;
  /** Default 0. */
  seed?: number;
  callbacks?: FitCallbacks;
}

/** Options of {@link CodePrior.sampleCodes}. */
export interface CodeSampleOptions {
  /** Number of grids. */
  numSamples: number;
  /** One class per grid (−1 = unconditional); default all unconditional. */
  labels?: readonly number[];
  /** Softmax temperature > 0. Default 1. */
  temperature?: number;
  /** Default 0. */
  seed?: number;
}

/**
 * A GPT over code grids with a class prefix token. Owns its weights (`dispose()`).
 * @example
 * ```ts
 * const prior = CodePrior.create(codePriorConfig({ vqvae, numClasses: 10 }), { seed: 0 });
 * await prior.train({ codes: vqvae.encodeCodes(images), labels, steps: 2000 });
 * const grids = prior.sampleCodes({ numSamples: 10, labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
 * ```
 */
export class CodePrior {
  readonly config: CodePriorConfig;
  /** The GPT's weights by name; owned. */
  readonly params: Record<string, tf.Variable>;

  private constructor(config: CodePriorConfig, seed: number) {
    this.config = config;
    this.params = initGptParams(config.gpt, seed);
  }

  /** A prior with seeded weights. @example `CodePrior.create(config, { seed: 0 })` */
  static create(config: CodePriorConfig, options: { seed?: number } = {}): CodePrior {
    return new CodePrior(config, options.seed ?? 0);
  }

  /** The prefix token of each label (−1 or out of range → the unconditional token). */
  private prefix(labels: ArrayLike<number> | undefined, n: number): Int32Array {
    const { numCodes, numClasses } = this.config;
    const none = numCodes + numClasses;
    return Int32Array.from({ length: n }, (_, i) => {
      const l = labels?.[i] ?? -1;
      if (l >= numClasses || (l !== -1 && !(Number.isInteger(l) && l >= 0))) {
        throw new SculptError(
          'CodePrior',
          `expected class labels in [0, ${numClasses - 1}] or −1 (unconditional)`,
          `got ${l}`,
          numClasses ? 'pass digit labels' : 'this prior is unconditional: drop labels',
        );
      }
      return l === -1 ? none : numCodes + l;
    });
  }

  private checkCodes(codes: tf.Tensor): void {
    const [h, w] = this.config.gridShape;
    if (
      codes.rank !== 3 ||
      codes.shape[1] !== h ||
      codes.shape[2] !== w ||
      codes.dtype !== 'int32'
    ) {
      throw new SculptError(
        'CodePrior.train',
        `expected int32 code grids [N, ${h}, ${w}]`,
        `got ${codes.dtype} [${codes.shape}]`,
        'pass vqvae.encodeCodes(images) of the VQ-VAE the prior was sized for',
      );
    }
  }

  /**
   * Teacher-forced training on `[cond, codes…]` with cross-entropy (core's Trainer, AdamW).
   * @returns core's FitResult.
   */
  async train(options: CodePriorTrainOptions): Promise<FitResult> {
    const { codes, labels, steps, batchSize = 64, learningRate = 1e-3, seed = 0 } = options;
    this.checkCodes(codes);
    const n = codes.shape[0];
    const hw = codes.shape[1] * codes.shape[2];
    const dropout = options.labelDropout ?? 0.1;
    const flat = tf.reshape(codes, [n, hw]) as tf.Tensor2D;
    const trainer = new Trainer<tf.Tensor2D>({
      params: this.params,
      loss: (p, windows) => gptLoss(this.config.gpt, p, windows),
      optimizer: adamW({ weightDecay: 0.01 }),
      learningRate,
      clipNorm: 1,
      rng: new Rng(seed),
    });
    try {
      return await trainer.fit({
        data: (_step, rng) => {
          const idx = batchIndices(rng, n, batchSize);
          const u = rng.uniformArray(batchSize);
          const picked = Array.from(idx, (i, j) => (u[j] < dropout ? -1 : (labels?.[i] ?? -1)));
          const cond = this.prefix(picked, batchSize);
          return tf.tidy(() =>
            tf.concat([tf.tensor2d(cond, [batchSize, 1], 'int32'), tf.gather(flat, idx)], 1),
          ) as tf.Tensor2D; // [B, 1 + hw]
        },
        steps,
        callbacks: options.callbacks,
      });
    } finally {
      trainer.dispose();
      flat.dispose();
    }
  }

  /**
   * Draws code grids one code at a time (KV cache; only code tokens can be drawn).
   * @returns int32 `[N, h, w]`; the caller owns it.
   */
  sampleCodes(options: CodeSampleOptions): tf.Tensor3D {
    const { numSamples, temperature = 1, seed = 0 } = options;
    if (!(temperature > 0)) {
      throw new SculptError(
        'CodePrior.sampleCodes',
        'expected temperature > 0',
        `got ${temperature}`,
      );
    }
    const [h, w] = this.config.gridShape;
    const rng = new Rng(seed);
    const cache = new KvCache();
    let next = tf.tensor2d(this.prefix(options.labels, numSamples), [numSamples, 1], 'int32');
    const drawn: tf.Tensor2D[] = [];
    try {
      for (let t = 0; t < h * w; t++) {
        const logits = tf.tidy(() => {
          const out = gptForward(this.config.gpt, this.params, next, { cache }); // [N, 1, V]
          const codes = tf.slice(out, [0, 0, 0], [numSamples, 1, this.config.numCodes]);
          return tf.div(
            tf.reshape(codes, [numSamples, this.config.numCodes]),
            temperature,
          ) as tf.Tensor2D;
        });
        next.dispose();
        next = rng.categorical(logits); // [N, 1] int32
        logits.dispose();
        drawn.push(tf.clone(next));
      }
      return tf.tidy(() => tf.reshape(tf.concat(drawn, 1), [numSamples, h, w]) as tf.Tensor3D);
    } finally {
      next.dispose();
      tf.dispose(drawn);
      cache.dispose();
    }
  }

  /** Weights and config in sculpt's checkpoint layout (tensors are the prior's own). */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: CODE_PRIOR_KIND,
      version: 1,
      config: this.config as unknown as JsonValue,
      weights: this.params,
    });
  }

  /**
   * A prior from {@link CodePrior.toCheckpoint}'s output (tensors read, not taken).
   * @throws CheckpointError for another kind, or a weight missing, left over or of another shape.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): CodePrior {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, CODE_PRIOR_KIND);
    const prior = new CodePrior(config as unknown as CodePriorConfig, 0);
    try {
      assignModelWeights(where, prior.params, weights);
    } catch (error) {
      prior.dispose();
      throw error;
    }
    return prior;
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}
