export type { ClippedGradients } from './clip.js';
export { clipByGlobalNorm, globalNorm } from './clip.js';
export type { FitData } from './data.js';
export type { EmaOptions } from './ema.js';
export { ExponentialMovingAverage } from './ema.js';
export type { AdamOptions, Optimizer, OptimizerOptions, SgdOptions } from './optimizers.js';
export { adam, adamW, sgd } from './optimizers.js';
export type { LrSchedule, LrSpec, WarmupDecayOptions } from './schedules.js';
export {
  constantLr,
  describeLr,
  lrFromSpec,
  warmupCosineLr,
  warmupLinearLr,
} from './schedules.js';
export type { JsonValue, TrainState } from './state.js';
export type {
  FitCallbacks,
  FitOptions,
  FitProgress,
  FitResult,
  LossFn,
  LossOutput,
  StepResult,
  TrainerOptions,
} from './trainer.js';
export { Trainer } from './trainer.js';
