/**
 * @sculpt/latent — A miniature Stable Diffusion from parts: a conv KL autoencoder, a text encoder and a text-conditioned latent U-Net, composed with any sampler
 * @packageDocumentation
 */

/** The package's name and version, read at build time. */
export const PACKAGE = { name: '@sculpt/latent', version: '0.0.0' } as const;

export type { ScaledAutoencoder } from './autoencoder.js';
// --- parts ---
export { KlAutoencoder, measureScaleFactor } from './autoencoder.js';
export type {
  AutoencoderConfig,
  LatentConfig,
  LatentConfigInput,
  LatentPresetName,
  TextEncoderConfig,
} from './config.js';
// --- config ---
export { LATENT_PRESETS, latentConfig } from './config.js';
export type { LatentImg2ImgOptions } from './edit.js';
export { latentImg2Img } from './edit.js';
export type { PromptAttribute } from './evaluate.js';
export { attributeAgreement, attributePromptPairs } from './evaluate.js';
export type {
  AutoencoderTrainOptions,
  DenoiserTrainOptions,
  LatentSampleOptions,
} from './model.js';
// --- model ---
export { LATENT_CHECKPOINT_KIND, LatentDiffusionModel } from './model.js';
export type { LatentDiffusionOptions } from './pipeline.js';
// --- composition ---
export { checkLatentShapes, latentDiffusion } from './pipeline.js';
export type { EncodedPrompts } from './prompt-encoder.js';
export { PAD_TOKEN, PromptEncoder, START_TOKEN } from './prompt-encoder.js';
export type { LatentFitOptions, LatentTrainerOptions } from './trainer.js';
export { LatentTrainer } from './trainer.js';
export type { VqPriorPipeline } from './vq-pipeline.js';
export { vqPrior } from './vq-pipeline.js';
export type {
  CodePriorConfig,
  CodePriorPreset,
  CodePriorTrainOptions,
  CodeSampleOptions,
} from './vq-prior.js';
// --- discrete latents ---
export { CODE_PRIOR_KIND, CodePrior, codePriorConfig } from './vq-prior.js';
