// vqPrior: a VQ-VAE and a code prior composed — sample a code grid, decode
// it. A prompt conditions through the digit it names (@sculpt/datasets'
// parseCaption), the prior's class prefix token.
import { SculptError } from '@sculpt/core';
import { parseCaption } from '@sculpt/datasets';
import type { VqVaeModel } from '@sculpt/vae';
import type * as tf from '@tensorflow/tfjs-core';
import type { CodePrior, CodeSampleOptions } from './vq-prior.js';

/** What {@link vqPrior} returns: sampling composed from the two parts. */
export interface VqPriorPipeline {
  /**
   * Code grids from the prior, decoded by the VQ-VAE.
   * @returns pixel probabilities `[N, H, W, C]` in [0, 1]; the caller owns them.
   */
  sample(options: CodeSampleOptions & { prompts?: readonly string[] }): Promise<tf.Tensor4D>;
}

/**
 * Composes a VQ-VAE and a code prior: sample → decode. A prompt conditions
 * through the digit it names ("a thick seven" → class 7).
 * @example
 * ```ts
 * const images = await vqPrior({ vqvae, prior }).sample({ numSamples: 4, prompts: ['a seven'], seed: 0 });
 * ```
 */
export function vqPrior(parts: { vqvae: VqVaeModel; prior: CodePrior }): VqPriorPipeline {
  const { vqvae, prior } = parts;
  const [h, w] = vqvae.gridShape;
  const k = vqvae.getConfig().numCodes;
  if (
    prior.config.gridShape[0] !== h ||
    prior.config.gridShape[1] !== w ||
    prior.config.numCodes !== k
  ) {
    throw new SculptError(
      'vqPrior',
      `expected a prior over ${h}×${w} grids of ${k} codes (the VQ-VAE's)`,
      `got ${prior.config.gridShape.join('×')} grids of ${prior.config.numCodes} codes`,
      'size the prior with codePriorConfig({ vqvae }) and train it on vqvae.encodeCodes',
    );
  }
  return {
    async sample(options) {
      const labels = options.prompts
        ? Array.from({ length: options.numSamples }, (_, i) =>
            promptClass(options.prompts ?? [], i),
          )
        : options.labels;
      const codes = prior.sampleCodes({ ...options, labels });
      try {
        return vqvae.decodeCodes(codes);
      } finally {
        codes.dispose();
      }
    },
  };
}

function promptClass(prompts: readonly string[], i: number): number {
  const prompt = prompts[i % prompts.length];
  const { digit } = parseCaption(prompt);
  if (prompt && digit < 0) {
    throw new SculptError(
      'vqPrior.sample',
      'expected prompts that name a digit ("a seven", "the digit 7") or the empty prompt',
      `got ${JSON.stringify(prompt.slice(0, 60))}`,
      'name a digit in the prompt',
    );
  }
  return digit;
}
