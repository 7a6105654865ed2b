/**
 * @sculpt/core — the shared vocabulary of sculpt: contracts, errors, seeded
 * randomness, distributions, noise schedules, the training loop, checkpoints
 * and images. Backends live in `@sculpt/backend`.
 * @packageDocumentation
 */

// --- contracts ---
export type {
  Autoencoder,
  Conditioning,
  Denoiser,
  LogitsProcessor,
  Sampler,
  SamplerOptions,
  SamplerStep,
  TokenContext,
} from './contracts.js';
// --- ops ---
export type { Conv2dBiasActivationOptions, ConvActivation } from './conv-bias-activation.js';
export { conv2dBiasActivation } from './conv-bias-activation.js';
export type {
  BernoulliOptions,
  CategoricalOptions,
  DiagonalNormalOptions,
  NormalOptions,
  ParamInput,
} from './distributions/index.js';
// --- distributions ---
export { Bernoulli, Categorical, DiagonalNormal, Normal } from './distributions/index.js';
// --- errors ---
export {
  AbortError,
  BackendError,
  CheckpointError,
  formatShape,
  NonFiniteLossError,
  preview,
  SculptError,
} from './errors.js';
// --- fused kernels (a backend may add them; model code falls back to tfjs ops) ---
export { FUSED_KERNELS, hasFusedKernel } from './fused.js';
export type {
  AllowExtra,
  Checkpoint,
  CheckpointStore,
  CheckpointTarget,
  ExpectedTensors,
  LoadCheckpointOptions,
  TensorSpec,
} from './io/checkpoint.js';
// --- io ---
export {
  CHECKPOINT_FORMAT_VERSION,
  checkpointFromBytes,
  checkpointToBytes,
  loadCheckpoint,
  saveCheckpoint,
} from './io/checkpoint.js';
export type { IndexedDbStoreOptions } from './io/indexeddb.js';
export { indexedDbStore } from './io/indexeddb.js';
export {
  assignModelWeights,
  expectTrainingWeights,
  weightSpecs,
} from './io/model-weights.js';
export type { EncodePngOptions, ImageGridOptions, PngPixels } from './io/png.js';
export { decodePng, decodePngPixels, encodePng, imageGrid, readPng, writePng } from './io/png.js';
export type { DecodedSafetensors } from './io/safetensors.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
export type {
  TrainerRestorer,
  TrainingCheckpointParts,
  UnpackedTrainingCheckpoint,
} from './io/training-checkpoint.js';
export {
  disposeTrainerTensors,
  expectModelWeights,
  ownTrainingCheckpoint,
  packTrainingCheckpoint,
  readCheckpoint,
  restoreTrainer,
  saveTrainingCheckpoint,
  unpackTrainingCheckpoint,
} from './io/training-checkpoint.js';
export type { FetchCheckpointOptions, FetchProgress, ModelCache } from './io/url.js';
export { browserCache, fetchCheckpoint, memoryCache, modelFromUrl } from './io/url.js';
export type { RngState } from './random/index.js';
// --- random ---
export { Rng } from './random/index.js';
export type {
  BetaScheduleKind,
  BetaScheduleOptions,
  DiscreteSigmasOptions,
  ExponentialSigmasOptions,
  KarrasSigmasOptions,
  NoiseSchedule,
  NoiseScheduleOptions,
  PolyexponentialSigmasOptions,
  TimestepSpacing,
  TimestepSpacingOptions,
  VpSigmasOptions,
} from './schedules/index.js';
// --- schedules ---
export {
  alphaCumprodToSigma,
  alphasCumprod,
  appendZero,
  betaSchedule,
  discreteSigmas,
  exponentialSigmas,
  karrasSigmas,
  logSnrToSigma,
  noiseSchedule,
  polyexponentialSigmas,
  rescaleZeroTerminalSnr,
  sigmaToAlphaCumprod,
  sigmaToLogSnr,
  sigmaToT,
  timestepSpacing,
  tToSigma,
  vpSigmas,
} from './schedules/index.js';
export type {
  AdamOptions,
  ClippedGradients,
  EmaOptions,
  FitCallbacks,
  FitData,
  FitOptions,
  FitProgress,
  FitResult,
  JsonValue,
  LossFn,
  LossOutput,
  LrSchedule,
  LrSpec,
  Optimizer,
  OptimizerOptions,
  SgdOptions,
  StepResult,
  TrainerOptions,
  TrainState,
  WarmupDecayOptions,
} from './train/index.js';
// --- train ---
export {
  adam,
  adamW,
  clipByGlobalNorm,
  constantLr,
  describeLr,
  ExponentialMovingAverage,
  globalNorm,
  lrFromSpec,
  sgd,
  Trainer,
  warmupCosineLr,
  warmupLinearLr,
} from './train/index.js';
