import type { Denoiser, Sampler, SamplerOptions, SamplerStep } from '@sculpt/core';
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * One step as the diffusion samplers report it: core's {@link SamplerStep}
 * (`x` is the sample *after* the step, at `sigmaNext`; `denoised` is the
 * denoiser's estimate at the start of the step) plus `last`, true on the
 * final step. The tensors belong to the sampler and are valid only until the
 * next step: `tf.clone` what you keep.
 */
export interface DiffusionStep extends SamplerStep {
  /** True for the final step: its `x` is the finished sample. */
  last: boolean;
}

/**
 * The body of a sampler: a generator that yields after every step and
 * returns the final sample (owned by the caller). It owns every tensor it
 * creates and frees them in `finally`, so stopping it early (abort, `break`)
 * leaks nothing. It never disposes `xT`.
 */
export type SamplerProgram<O extends SamplerOptions = SamplerOptions> = (
  denoiser: Denoiser,
  xT: Tensor,
  sigmas: Float32Array,
  options: O,
) => Generator<DiffusionStep, Tensor, void>;

/** What the registry knows about a sampler (plain data). */
export interface SamplerInfo {
  /** Canonical name, k-diffusion / ComfyUI style, e.g. `'dpmpp-2m'`. */
  readonly name: string;
  /** Other names it answers to, e.g. A1111's `'DPM++ 2M'`. Matched case-insensitively. */
  readonly aliases: readonly string[];
  /** Where the update rule comes from (paper, arXiv id). */
  readonly paper: string;
  /** True when the sampler draws noise with its default options (then it needs `options.rng`). */
  readonly stochastic: boolean;
  /** Claimed global order of convergence of the deterministic solver (0 for stochastic samplers, which are checked in distribution). */
  readonly order: number;
  /** Denoiser evaluations per step (on all but possibly the last step). */
  readonly nfePerStep: number;
}

/**
 * A registered diffusion sampler: its {@link SamplerInfo} plus three ways to
 * run the same algorithm.
 *
 * - `sample` is core's {@link Sampler} contract (synchronous).
 * - `sampleAsync` yields to the event loop between steps (keeps UIs alive).
 * - `steps` is an async iterator of {@link DiffusionStep}s for streaming previews.
 */
export interface DiffusionSampler<O extends SamplerOptions = SamplerOptions> extends SamplerInfo {
  /**
   * Runs the sampler to the end. Never disposes `xT`; the caller owns the result.
   * @throws SculptError for bad sigmas or a missing `rng`; AbortError when `options.signal` aborts.
   */
  readonly sample: (denoiser: Denoiser, xT: Tensor, sigmas: Float32Array, options?: O) => Tensor;
  /** Same as `sample`, awaiting a macrotask between steps. Resolves to a tensor the caller owns. */
  readonly sampleAsync: (
    denoiser: Denoiser,
    xT: Tensor,
    sigmas: Float32Array,
    options?: O,
  ) => Promise<Tensor>;
  /**
   * Yields every step (awaiting a macrotask between steps). Step tensors are
   * valid until the next iteration; `tf.clone(step.x)` on the `last` step to
   * keep the sample. Breaking out early frees everything.
   */
  readonly steps: (
    denoiser: Denoiser,
    xT: Tensor,
    sigmas: Float32Array,
    options?: O,
  ) => AsyncGenerator<DiffusionStep, void, void>;
}
