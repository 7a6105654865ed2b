/**
 * @sculpt/core — the shared vocabulary of sculpt: backends that can train,
 * seeded randomness, distributions, noise schedules, the training loop,
 * checkpoints and images.
 * @packageDocumentation
 */

// --- errors ---
export {
  AbortError,
  BackendError,
  CheckpointError,
  NonFiniteLossError,
  SculptError,
  formatShape,
} from './errors.js';

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

// --- backend ---

// --- random ---

// --- distributions ---

// --- schedules ---

// --- train ---

// --- io ---
