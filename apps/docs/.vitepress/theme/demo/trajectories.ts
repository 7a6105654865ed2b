// Sampler trajectories on the 2-D Gaussian mixture whose exact denoiser is
// known (@sculpt/samplers/testing): every registered sampler starts from the
// same noise and walks it to the data, one recorded position per step.
import { karrasSigmas, Rng } from '@sculpt/core';
import type { DiffusionSampler } from '@sculpt/samplers';
import {
  DEFAULT_MIXTURE,
  type GaussianMixture,
  gaussianMixtureDenoiser,
} from '@sculpt/samplers/testing';
import * as tf from '@tensorflow/tfjs-core';

/** Options for {@link traceSampler}. */
export interface TraceOptions {
  /** Start points. Default 24. */
  numPoints?: number;
  /** Sampler steps. Default 10. */
  numSteps?: number;
  /** Largest noise level (Karras ρ = 7 spacing down to 0.002). Default 6. */
  sigmaMax?: number;
  /** Seed of the start noise (and of stochastic samplers' noise). Default 0. */
  seed?: number;
  /** The data distribution. Default the suite's {@link DEFAULT_MIXTURE}. */
  mixture?: GaussianMixture;
}

/** One sampler's paths: `frames[s]` holds the N×2 positions after step s (frame 0 = start). */
export interface Trace {
  name: string;
  stochastic: boolean;
  frames: Float32Array[];
  /** Denoiser evaluations spent. */
  nfe: number;
  /** Wall time of the run, including reading each step back for the plot. */
  ms: number;
}

/** Runs `sampler` from seeded noise and records every step's positions. */
export async function traceSampler(
  sampler: DiffusionSampler,
  options: TraceOptions = {},
): Promise<Trace> {
  const {
    numPoints = 24,
    numSteps = 10,
    sigmaMax = 6,
    seed = 0,
    mixture = DEFAULT_MIXTURE,
  } = options;
  const base = gaussianMixtureDenoiser(mixture);
  let nfe = 0;
  const denoiser = (x: tf.Tensor, sigma: tf.Tensor1D) => {
    nfe++;
    return base(x, sigma);
  };
  const sigmas = karrasSigmas({ numSteps, sigmaMin: 0.002, sigmaMax });
  const [noiseRng, samplerRng] = new Rng(seed).split(2);
  const xT = tf.tidy(() => tf.mul(noiseRng.normal([numPoints, 2]), sigmaMax));
  const started = performance.now();
  const frames: Float32Array[] = [(await xT.data()) as Float32Array];
  try {
    // The demo reads every step back to draw it; a library loop would not.
    for await (const step of sampler.steps(denoiser, xT, sigmas, { rng: samplerRng })) {
      frames.push((await step.x.data()) as Float32Array);
    }
  } finally {
    xT.dispose();
  }
  return {
    name: sampler.name,
    stochastic: sampler.stochastic,
    frames,
    nfe,
    ms: performance.now() - started,
  };
}

/** Plot bounds that hold the mixture's ±3σ boxes with a margin. */
export function mixtureBounds(mixture: GaussianMixture = DEFAULT_MIXTURE): {
  min: number[];
  max: number[];
} {
  const min = [Infinity, Infinity];
  const max = [-Infinity, -Infinity];
  mixture.means.forEach((mean, k) => {
    for (let d = 0; d < 2; d++) {
      min[d] = Math.min(min[d], mean[d] - 3 * mixture.stds[k][d]);
      max[d] = Math.max(max[d], mean[d] + 3 * mixture.stds[k][d]);
    }
  });
  return { min: min.map((v) => v - 1.5), max: max.map((v) => v + 1.5) };
}

/**
 * Draws a trace: the mixture's 1σ and 2σ ellipses, each path as a polyline
 * (faded at the start), the end points as dots.
 */
export function drawTrace(
  canvas: HTMLCanvasElement,
  trace: Trace,
  mixture: GaussianMixture = DEFAULT_MIXTURE,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  const { min, max } = mixtureBounds(mixture);
  const sx = (x: number) => ((x - min[0]) / (max[0] - min[0])) * width;
  const sy = (y: number) => height - ((y - min[1]) / (max[1] - min[1])) * height;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  mixture.means.forEach((mean, k) => {
    for (const [r, alpha] of [
      [2, 0.08],
      [1, 0.18],
    ] as const) {
      ctx.fillStyle = `rgba(90, 120, 220, ${alpha + 0.3 * mixture.weights[k] * alpha * 5})`;
      ctx.beginPath();
      ctx.ellipse(
        sx(mean[0]),
        sy(mean[1]),
        (r * mixture.stds[k][0] * width) / (max[0] - min[0]),
        (r * mixture.stds[k][1] * height) / (max[1] - min[1]),
        0,
        0,
        2 * Math.PI,
      );
      ctx.fill();
    }
  });
  const n = trace.frames[0].length / 2;
  ctx.lineWidth = 1.2;
  for (let i = 0; i < n; i++) {
    ctx.strokeStyle = `hsl(${(i * 360) / n}, 70%, 42%)`;
    ctx.beginPath();
    trace.frames.forEach((f, s) => {
      const px = sx(f[2 * i]);
      const py = sy(f[2 * i + 1]);
      if (s === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
    const last = trace.frames[trace.frames.length - 1];
    ctx.fillStyle = '#111';
    ctx.beginPath();
    ctx.arc(sx(last[2 * i]), sy(last[2 * i + 1]), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}
