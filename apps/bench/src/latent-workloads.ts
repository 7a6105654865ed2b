/**
 * The latent family (@sculpt/latent's `mnist-text` preset, freshly
 * initialised: speed does not depend on training): the text-conditioned
 * latent U-Net's train step at batch 64 on 7×7×4 latents with a 16-token
 * prompt context (cross-attention), Adam(1e-3); and text-to-image sampling
 * images/s — 20 DPM++ 2M steps in latent space, then the decoder — 16 images
 * per call like the pixel `sampling` entry. No PyTorch twin yet.
 */
import { Rng } from '@sculpt/core';
import { DiffusionTrainer } from '@sculpt/diffusion';
import { LatentDiffusionModel } from '@sculpt/latent';
import * as tf from '@tensorflow/tfjs-core';
import { minimize } from './nn.js';
import { benchAdam } from './optim.js';
import type { Result } from './result.js';
import { timeSampling } from './sampling.js';
import type { Workload } from './workloads.js';

const PROMPTS = ['a thick seven', 'a thin slanted 2', 'the digit 4', 'an upright eight'];

/** One Adam step of the latent U-Net on a fixed batch of latents and encoded prompts. */
export const latentUnet: Workload = {
  name: 'latentUnet',
  build(rng) {
    const batch = 64;
    const model = LatentDiffusionModel.create('mnist-text', { seed: 1 });
    const trainer = new DiffusionTrainer(model.diffusion, { ema: false });
    const images = rng.normal([batch, ...model.diffusion.imageShape]) as tf.Tensor4D;
    const { context, contextMask } = model.text.encode(
      Array.from({ length: batch }, (_, i) => PROMPTS[i % PROMPTS.length]),
    );
    const opt = benchAdam(1e-3);
    const stepRng = new Rng(2);
    const params = Object.values(model.diffusion.params) as tf.Variable[];
    return {
      step: () =>
        minimize(opt, () => trainer.loss({ images, context, contextMask }, stepRng), params),
      dispose: () => {
        tf.dispose([images, context, contextMask]);
        opt.dispose();
        trainer.dispose();
        model.dispose();
      },
    };
  },
};

/** Median images/s of text-to-image sampling (one warm-up call first). */
export async function latentSamplingImagesPerSecond(options: { quick: boolean }): Promise<Result> {
  const numSamples = 16;
  const model = LatentDiffusionModel.create('mnist-text', { seed: 0 });
  const prompts = Array.from({ length: numSamples }, (_, i) => PROMPTS[i % PROMPTS.length]);
  try {
    return await timeSampling(
      numSamples,
      () => model.sample({ prompts, steps: 20, sampler: 'dpmpp-2m', seed: 0 }),
      options.quick,
    );
  } finally {
    model.dispose();
  }
}
