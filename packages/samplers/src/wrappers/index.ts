export type {
  DiffusionNetwork,
  DiscreteDenoiserOptions,
  KarrasDenoiserOptions,
  Prediction,
} from './discrete.js';
export {
  discreteDenoiser,
  karrasDenoiser,
  karrasScalings,
  perItem,
  sigmaToTimestep,
} from './discrete.js';
export type { ClassifierFreeGuidanceOptions, DynamicThresholdingOptions } from './guidance.js';
export { classifierFreeGuidance, dynamicThresholding } from './guidance.js';
