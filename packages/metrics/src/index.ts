/**
 * @sculpt/metrics — Numbers that prove a model learned: Fréchet distance, KID, precision/recall, ELBO, bits/dim, perplexity.
 * @packageDocumentation
 */

export type {
  ClassifierInputOptions,
  ClassifierSource,
  MnistClassifier,
} from './classifier/classifier.js';
// --- the MNIST classifier ---
export {
  CLASSIFIER_WEIGHTS_FILE,
  classAccuracy,
  classifierFeatures,
  classifyImages,
  loadMnistClassifier,
} from './classifier/classifier.js';
export type { ClassifierParams, Conv3x3 } from './classifier/model.js';
export {
  CLASSIFIER_FEATURE_DIM,
  CLASSIFIER_PARAM_SHAPES,
  classifierForward,
} from './classifier/model.js';
// --- sample quality ---
export { frechetDistance } from './frechet.js';
export type { KidOptions } from './kid.js';
export { kernelInceptionDistance } from './kid.js';
export type { LanguageModelScores } from './likelihood.js';
// --- likelihoods ---
export {
  bitsPerDim,
  importanceWeightedBound,
  languageModelScores,
  negativeElbo,
  tokenNll,
} from './likelihood.js';
export type { FeatureMatrix, GaussianStats } from './linalg.js';
// --- features and linear algebra ---
export { featureMatrix, gaussianStats, sqrtPsd, symmetricEigen } from './linalg.js';
export { precisionRecall } from './precision-recall.js';
