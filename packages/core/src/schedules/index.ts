export type { BetaScheduleKind, BetaScheduleOptions } from './betas.js';
export { alphasCumprod, betaSchedule, rescaleZeroTerminalSnr } from './betas.js';
export type { NoiseSchedule, NoiseScheduleOptions } from './noise-schedule.js';
export {
  alphaCumprodToSigma,
  logSnrToSigma,
  noiseSchedule,
  sigmaToAlphaCumprod,
  sigmaToLogSnr,
  sigmaToT,
  tToSigma,
} from './noise-schedule.js';
export type {
  DiscreteSigmasOptions,
  ExponentialSigmasOptions,
  KarrasSigmasOptions,
  PolyexponentialSigmasOptions,
  TimestepSpacing,
  TimestepSpacingOptions,
  VpSigmasOptions,
} from './sigmas.js';
export {
  appendZero,
  discreteSigmas,
  exponentialSigmas,
  karrasSigmas,
  polyexponentialSigmas,
  timestepSpacing,
  vpSigmas,
} from './sigmas.js';
