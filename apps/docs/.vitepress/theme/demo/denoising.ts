// The denoising demo's math, kept apart from the Vue component.
//
// Notation (Ho et al. 2020; k-diffusion): images x₀ ∈ [−1, 1]^{28×28}, a DDPM
// schedule ᾱ_t, σ_t = √((1 − ᾱ_t)/ᾱ_t). The forward process
//   q(x_t | x₀) = N(√ᾱ_t·x₀, (1 − ᾱ_t)·I)                                (eq. 4)
// is drawn by @sculpt/diffusion's `qSample` as x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε,
// i.e. x_t = x/√(1 + σ_t²) with x = x₀ + σ_t·ε, the variable the samplers
// (k-diffusion convention) work in.
import { type Conditioning, type Denoiser, karrasSigmas, Rng } from '@sculpt/core';
import type { DiffusionSampler } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';

/** Pixels in [0, 1] → model range [−1, 1], as `[1, H, W, 1]`. */
export function toModelRange(pixels: Float32Array, size: number): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(pixels, [1, size, size, 1]), 2), 1));
}

/** What the page draws after each reverse step. */
export interface ReverseFrame {
  step: number;
  numSteps: number;
  sigma: number;
  /** The current sample in x_t scaling (x/√(1+σ²)), `[H·W]` in model range. */
  xt: Float32Array;
  /** The denoiser's predicted x₀ at this step, `[H·W]` in model range. */
  x0: Float32Array;
}

/** Options of {@link runReverse}. */
export interface ReverseOptions {
  sampler: DiffusionSampler;
  denoiser: Denoiser;
  /** Smallest noise level of the schedule (the last step goes from it to 0). */
  sigmaMin: number;
  numSteps: number;
  /** Start noise level σ (from the slider's t, or the schedule's largest). */
  sigmaStart: number;
  /** `x = x₀ + σ_start·ε` (k-diffusion scaling), `[1, H, W, 1]`; not disposed. */
  xStart: tf.Tensor;
  cond?: Conditioning;
  seed: number;
  /** Called after each step with numbers read back for drawing (skipped when absent). */
  onFrame?: (frame: ReverseFrame) => void | Promise<void>;
}

/**
 * Runs the reverse process from `xStart` at σ_start down to 0 on a Karras
 * (ρ = 7) schedule, step by step. Returns the sample (caller owns it) and the
 * wall time; with no `onFrame` nothing is read back until the end, so the time
 * is the sampler's own.
 */
export async function runReverse(
  options: ReverseOptions,
): Promise<{ sample: tf.Tensor; ms: number }> {
  const { sampler, denoiser, sigmaMin, numSteps, sigmaStart, xStart, cond, seed, onFrame } =
    options;
  const sigmas = karrasSigmas({
    numSteps,
    sigmaMin,
    sigmaMax: Math.max(sigmaStart, sigmaMin * 1.01),
  });
  const rng = new Rng(seed);
  const started = performance.now();
  let sample: tf.Tensor | undefined;
  for await (const step of sampler.steps(denoiser, xStart, sigmas, { rng, cond })) {
    if (onFrame) {
      const scaled = tf.tidy(() => tf.div(step.x, Math.sqrt(1 + step.sigmaNext ** 2)));
      const [xt, x0] = await Promise.all([scaled.data(), step.denoised.data()]);
      scaled.dispose();
      await onFrame({
        step: step.i + 1,
        numSteps,
        sigma: step.sigmaNext,
        xt: xt as Float32Array,
        x0: x0 as Float32Array,
      });
    }
    if (step.last) sample = tf.clone(step.x);
  }
  if (!sample) throw new Error('runReverse: expected a last step, got none');
  await sample.data(); // wait for the device: the time includes the last kernel
  return { sample, ms: performance.now() - started };
}

/** Draws a `[H·W]` image in model range [−1, 1] (or [0, 1] with `range01`) onto a canvas of H×W pixels. */
export function drawImage(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  size: number,
  range01 = false,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const p = range01 ? values[i] : (values[i] + 1) / 2;
    const v = Math.round(255 * Math.min(1, Math.max(0, p)));
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
