/**
 * @sculpt/vae — autoencoders and variational autoencoders with honest
 * likelihoods: ELBO with analytic KL, β, KL warm-up, free bits, IWAE bounds
 * in nats and bits/dim, and latent tools (reconstruction, slerp, 2-D grids,
 * tempered prior samples). Models implement core's `Autoencoder` contract.
 * @packageDocumentation
 */
export type {
  Likelihood,
  VaeArch,
  VaeConfig,
  VaeConfigInput,
  VaeKind,
  VaePreset,
} from './config.js';
export { PRESETS, vaeConfig } from './config.js';
export { interpolate, latentGrid2d, reconstruct, samplePrior } from './latent.js';
export { cbLogNormalizer, cbMean } from './likelihood.js';
export type { CreateVaeOptions } from './model.js';
export { CHECKPOINT_KIND, VaeModel } from './model.js';
export type { BoundOptions, BoundReport, ElboTerms } from './objectives.js';
export { elboTerms, evaluateBounds, klPerDim } from './objectives.js';
export type { CodebookUsage, EmaCodebook, Quantized } from './quantizer.js';
export { codebookUsage, quantize, stopGradient } from './quantizer.js';
export type { EncodeOptions } from './shared.js';
export type { VaeTrainOptions } from './train.js';
export { VaeTrainer } from './train.js';
export type { VqVaeConfig, VqVaeConfigInput, VqVaePreset } from './vq-config.js';
export { VQ_PRESETS, vqVaeConfig } from './vq-config.js';
export { VQ_CHECKPOINT_KIND, VqVaeModel } from './vq-model.js';
export type { VqStepResult, VqVaeTrainOptions } from './vq-train.js';
export { VqVaeTrainer } from './vq-train.js';
