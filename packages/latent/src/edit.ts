// img2img (SDEdit, Meng et al. 2022) in latent space: encode the image to its
// scaled latent mean, noise it to the level `strength` picks, run any sampler
// over the rest of the schedule with the prompt's guidance, decode.
import { karrasSigmas, Rng, SculptError } from '@sculpt/core';
import { type DiffusionSampler, getSampler, img2img } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import type { LatentDiffusionModel, LatentSampleOptions } from './model.js';

/** Options of {@link latentImg2Img}. */
export interface LatentImg2ImgOptions extends LatentSampleOptions {
  /** Images `[N, S, S, C]` in [-1, 1] (not disposed), one per prompt. */
  image: tf.Tensor4D;
  /** In (0, 1]: how much of the schedule to run (1 = from pure noise). Default 0.5. */
  strength?: number;
}

/**
 * Text-guided img2img in latent space with any registered sampler.
 * @returns `[N, S, S, C]` in [-1, 1]; the caller owns it.
 * @example
 * ```ts
 * const edited = await latentImg2Img(model, { image, prompts: ['a thick seven'], strength: 0.6, guidanceScale: 4 });
 * ```
 */
export async function latentImg2Img(
  model: LatentDiffusionModel,
  options: LatentImg2ImgOptions,
): Promise<tf.Tensor4D> {
  const { image, prompts, strength = 0.5, guidanceScale = 1, steps = 20, seed = 0 } = options;
  if (image.shape[0] !== prompts.length) {
    throw new SculptError(
      'latentImg2Img',
      `expected one prompt per image (${image.shape[0]})`,
      `got ${prompts.length}`,
      "pass '' for images to edit without a prompt",
    );
  }
  const sampler: DiffusionSampler =
    typeof options.sampler === 'object'
      ? options.sampler
      : getSampler(options.sampler ?? 'dpmpp-2m');
  const scale = model.autoencoder.scaleFactor;
  const q = model.autoencoder.encode(image);
  const z = tf.mul(q.mean, scale);
  q.dispose();
  const cond = model.text.encode(prompts);
  const guided = model.guidedDenoiser(guidanceScale);
  try {
    const edited = img2img({
      sampler: sampler.sample,
      denoiser: guided.denoiser,
      image: z,
      sigmas: karrasSigmas({ numSteps: steps, ...model.diffusion.sigmaRange }),
      strength,
      rng: new Rng(seed),
      cond: { context: cond.context, contextMask: cond.contextMask },
    });
    const out = tf.tidy(() =>
      tf.clipByValue(model.autoencoder.decode(tf.div(edited, scale)), -1, 1),
    );
    edited.dispose();
    return out as tf.Tensor4D;
  } finally {
    guided.dispose();
    tf.dispose([z, cond.context, cond.contextMask]);
  }
}
