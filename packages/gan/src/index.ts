/**
 * @sculpt/gan — generative adversarial networks that train in Node and the
 * browser: a DCGAN generator and discriminator, class-conditional variants
 * (label embedding into G, projection discriminator), non-saturating, hinge
 * and WGAN-GP losses, lazy R1, spectral normalisation, two learning rates,
 * an EMA of G and per-step diagnostics, on core's `Trainer`; and a
 * StyleGAN-style generator (mapping network, modulated convs with
 * demodulation, noise inputs, skip outputs, truncation and style mixing).
 * @packageDocumentation
 */
export type { GanConfig, GanConfigInput, GanPresetName, GeneratorKind } from './config.js';
export { GAN_PRESETS, ganConfig } from './config.js';
export type { StyleMixing } from './controls.js';
export { numStyleLayers } from './controls.js';
export type {
  CycleGanConfig,
  CycleGanConfigInput,
  CycleGanPresetName,
} from './cycle/config.js';
export { CYCLE_GAN_PRESETS, cycleGanConfig } from './cycle/config.js';
export type { CreateCycleGanOptions, TranslateDirection } from './cycle/model.js';
export {
  CYCLE_CHECKPOINT_KIND,
  CycleGanModel,
  checkDirection,
  TRANSLATE_DIRECTIONS,
} from './cycle/model.js';
export type { ImagePoolState } from './cycle/pool.js';
export { ImagePool } from './cycle/pool.js';
export type {
  CycleGanBatch,
  CycleGanFitOptions,
  CycleGanStepResult,
  CycleGanTrainOptions,
} from './cycle/train.js';
export { CycleGanTrainer } from './cycle/train.js';
export type { TranslateImagesOptions } from './cycle/translate.js';
export { translateImages } from './cycle/translate.js';
export { GanGenerator, GENERATOR_KIND } from './generator.js';
export type { GanLoss } from './losses.js';
export {
  checkLoss,
  classLoss,
  discriminatorLoss,
  GAN_LOSSES,
  generatorLoss,
  gradientPenalty,
  r1Penalty,
} from './losses.js';
export type { CreateGanOptions } from './model.js';
export { CHECKPOINT_KIND, GanModel } from './model.js';
export type { DiscriminatorOutputs } from './nets.js';
export type { GanGenerateOptions, GanSampleOptions } from './sampling.js';
export { modulatedConv, styleResolutions } from './style.js';
export type {
  GanBatch,
  GanFitCallbacks,
  GanFitOptions,
  GanStepResult,
  GanTrainOptions,
} from './train.js';
export { GanTrainer } from './train.js';
