export { Rng } from './rng.js';
export type { RngState } from './rng.js';
