/**
 * @sculpt/samplers — Diffusion samplers under the names Stable Diffusion users know, sigma schedules, denoiser wrappers, and token samplers.
 * @packageDocumentation
 */

// --- diffusion samplers (registry, one file per algorithm) ---
// Sigma schedules live in @sculpt/core; re-exported so one import gives a sampler and its sigmas.

export type { KarrasSigmasOptions, NoiseSchedule } from '@sculpt/core';
export {
  appendZero,
  discreteSigmas,
  exponentialSigmas,
  karrasSigmas,
  noiseSchedule,
  polyexponentialSigmas,
  vpSigmas,
} from '@sculpt/core';
export type {
  DdimOptions,
  DdpmOptions,
  DiffusionSampler,
  DiffusionStep,
  Dpm2AncestralOptions,
  Dpm2Options,
  Dpmpp2mOptions,
  Dpmpp2mSdeOptions,
  Dpmpp2sAncestralOptions,
  Dpmpp3mSdeOptions,
  DpmppSdeOptions,
  EulerAncestralOptions,
  EulerOptions,
  HeunOptions,
  LmsOptions,
  RestartOptions,
  SamplerInfo,
  SamplerProgram,
  UnipcOptions,
} from './diffusion/index.js';
export {
  checkSigmas,
  ddim,
  ddpm,
  defineSampler,
  dpm2,
  dpm2Ancestral,
  dpmpp2m,
  dpmpp2mSde,
  dpmpp2sAncestral,
  dpmpp3mSde,
  dpmppSde,
  euler,
  eulerAncestral,
  heun,
  lms,
  restart,
  unipc,
} from './diffusion/index.js';
export { getSampler, listSamplers } from './registry.js';

// --- end diffusion samplers ---

export type {
  AsyncSampler,
  Img2ImgAsyncOptions,
  Img2ImgOptions,
  InpaintAsyncOptions,
  InpaintOptions,
  PassThroughOptions,
} from './pipelines/index.js';
// --- pipelines (img2img, inpainting) ---
export { img2img, img2imgAsync, inpaint, inpaintAsync } from './pipelines/index.js';
export type {
  BannedTokensOptions,
  Beam,
  BeamSearchOptions,
  CfgOptions,
  DiverseBeamSearchOptions,
  EpsilonOptions,
  EtaOptions,
  FrequencyPenaltyOptions,
  MinPOptions,
  MinTokensOption,
  NextLogitsFn,
  NoRepeatNGramOptions,
  PresencePenaltyOptions,
  RepetitionPenaltyOptions,
  TemperatureOptions,
  TokenSampler,
  TokenSamplerOptions,
  TokenStrategy,
  TopKOptions,
  TopPOptions,
  TypicalOptions,
  UnconditionalLogits,
} from './tokens/index.js';
// --- tokens (logits processors, draws, beam search) ---
export {
  bannedTokensProcessor,
  beamSearch,
  cfgProcessor,
  composeProcessors,
  createTokenSampler,
  diverseBeamSearch,
  epsilonProcessor,
  etaProcessor,
  frequencyPenaltyProcessor,
  greedy,
  minPProcessor,
  noRepeatNGramProcessor,
  presencePenaltyProcessor,
  repetitionPenaltyProcessor,
  sampleTokens,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
  typicalProcessor,
} from './tokens/index.js';
export type {
  ClassifierFreeGuidanceOptions,
  DiffusionNetwork,
  DiscreteDenoiserOptions,
  DynamicThresholdingOptions,
  KarrasDenoiserOptions,
  Prediction,
} from './wrappers/index.js';
// --- wrappers (networks → Denoiser, guidance) ---
export {
  classifierFreeGuidance,
  discreteDenoiser,
  dynamicThresholding,
  karrasDenoiser,
  karrasScalings,
  sigmaToTimestep,
} from './wrappers/index.js';
