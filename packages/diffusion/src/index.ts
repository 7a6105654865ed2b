/**
 * @sculpt/diffusion — A U-Net diffusion model that trains on your data in Node and the browser, with guidance, img2img and inpainting through any sampler.
 * @packageDocumentation
 */

export type {
  DiffusionConfig,
  DiffusionConfigInput,
  DiffusionPresetName,
  Preconditioning,
  Prediction,
} from './config.js';
// --- config and architecture ---
export { diffusionConfig, scheduleOf, sigmaRange } from './config.js';
export type { CrossAttention2DArgs } from './cross-attention.js';
export { CrossAttention2D } from './cross-attention.js';
export type { ForwardMoments } from './forward.js';
// --- the forward process, made visible ---
export { forwardMoments, predictX0, qSample } from './forward.js';
export type {
  ClassEmbeddingArgs,
  GroupNormalizationArgs,
  LayerArgs,
  PixelShuffleArgs,
  SelfAttention2DArgs,
  SinusoidalEmbeddingArgs,
} from './layers.js';
export {
  AddEmbedding,
  ClassEmbedding,
  GroupNormalization,
  groupNorm,
  groupNormSilu,
  PixelShuffle,
  SelfAttention2D,
  SinusoidalEmbedding,
  Upsample2x,
} from './layers.js';
export type { CreateModelOptions } from './model.js';
// --- model, sampling ---
export { CHECKPOINT_KIND, DiffusionModel, EDM_NOISE_SCALE } from './model.js';
export type {
  GuidedSamplingOptions,
  Img2ImgModelOptions,
  InpaintModelOptions,
  SamplableModel,
  SampleOptions,
} from './sample.js';
export {
  img2imgModel,
  img2imgModelAsync,
  inpaintModel,
  inpaintModelAsync,
  sampleModel,
} from './sample.js';
export type { DiffusionBatch, DiffusionTrainOptions, LossWeighting } from './train.js';
// --- training ---
export { DiffusionTrainer } from './train.js';
export type { UNetConfig, UNetPresetName } from './unet.js';
export {
  buildUNet,
  checkUNetConfig,
  DEFAULT_CONTEXT_LENGTH,
  hasContext,
  UNET_PRESETS,
  unetParams,
} from './unet.js';
