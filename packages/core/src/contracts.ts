import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import type { DiagonalNormal } from './distributions/index.js';
import type { Rng } from './random/index.js';

/**
 * Conditioning passed through a denoiser untouched by samplers: class labels,
 * text embeddings, or a pair for classifier-free guidance.
 */
export interface Conditioning {
  /** Class labels, `[B]` int32. */
  labels?: Tensor1D;
  /** Any other conditioning tensor (e.g. a text embedding `[B, L, D]`). */
  context?: Tensor;
  /** Free-form extra values (scalars only; tensors go above). */
  [key: string]: Tensor | number | string | boolean | undefined;
}

/**
 * A denoiser in the k-diffusion convention: noisy `x` at noise level `sigma`
 * (one per batch item, `[B]`) → estimate of the clean `x` (same shape as `x`).
 * The caller owns the result.
 */
export type Denoiser = (x: Tensor, sigma: Tensor1D, cond?: Conditioning) => Tensor;

/** What a sampler reports after every step. Tensors are only valid during the callback. */
export interface SamplerStep {
  /** Step index, 0-based. */
  i: number;
  /** Noise level at the start of the step. */
  sigma: number;
  /** Noise level at the end of the step. */
  sigmaNext: number;
  /** The current sample. */
  x: Tensor;
  /** The denoiser's estimate of the clean sample at this step. */
  denoised: Tensor;
}

/** Options every diffusion sampler takes. */
export interface SamplerOptions {
  /** Source of all noise the sampler draws (ancestral, SDE, churn). Required by stochastic samplers. */
  rng?: Rng;
  /** Conditioning handed to the denoiser unchanged. */
  cond?: Conditioning;
  /** Called after every step; do not dispose the tensors it receives. */
  onStep?: (step: SamplerStep) => void;
  /** Stops the sampler between steps with an `AbortError`. */
  signal?: AbortSignal;
  /** Sampler-specific options (eta, churn, order, …). */
  [key: string]: unknown;
}

/**
 * A diffusion sampler: a pure function from a denoiser, initial noise `xT`
 * (already scaled to `sigmas[0]`) and a decreasing sigma schedule ending in 0
 * to a sample. It never disposes `xT`; the caller owns the result.
 */
export type Sampler = (
  denoiser: Denoiser,
  xT: Tensor,
  sigmas: Float32Array,
  options?: SamplerOptions,
) => Tensor;

/** Anything that maps data to a latent (distribution) and back. */
export interface Autoencoder {
  /** Data → latent distribution or point. */
  encode(x: Tensor): DiagonalNormal | Tensor;
  /** Latent → data. */
  decode(z: Tensor): Tensor;
  /** Shape of one latent, without the batch dimension. */
  readonly latentShape: readonly number[];
}

/** What a logits processor sees besides the logits. */
export interface TokenContext {
  /** Tokens so far, one array per batch row. */
  tokens: readonly (readonly number[])[];
  /** Index of the step being generated (0 for the first new token). */
  step: number;
}

/** Token sampling: logits processors compose, then one draw. The caller owns the result. */
export type LogitsProcessor = (logits: Tensor2D, ctx: TokenContext) => Tensor2D;
