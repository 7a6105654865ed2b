export type { BernoulliOptions } from './bernoulli.js';
export { Bernoulli } from './bernoulli.js';
export type { CategoricalOptions } from './categorical.js';
export { Categorical } from './categorical.js';
export type { DiagonalNormalOptions } from './diagonal-normal.js';
export { DiagonalNormal } from './diagonal-normal.js';
export type { NormalOptions } from './normal.js';
export { Normal } from './normal.js';
export type { ParamInput } from './shared.js';
