export type { RngState } from './rng.js';
export { Rng } from './rng.js';
