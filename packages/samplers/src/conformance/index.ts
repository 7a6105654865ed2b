/**
 * `@sculpt/samplers/testing`: the analytic Gaussian-mixture denoiser and the
 * conformance measurements every registered sampler is held to.
 * @packageDocumentation
 */

export type { GaussianMixture, MixtureFit, ReferenceOptions } from './gaussian-mixture.js';
export {
  DEFAULT_MIXTURE,
  denoiseMixtureArray,
  fitMixture,
  gaussianMixtureDenoiser,
  probabilityFlowReference,
  sampleMixture,
} from './gaussian-mixture.js';
export type {
  ConvergenceOptions,
  ConvergenceReport,
  DistributionOptions,
  DistributionReport,
} from './suite.js';
export {
  convergence,
  distribution,
  SUITE_SIGMA_MAX,
  SUITE_SIGMA_MIN,
  slope,
  suiteSigmas,
} from './suite.js';
