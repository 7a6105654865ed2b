import { type Denoiser, karrasSigmas, type SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import {
  addNoise,
  bindDenoiser,
  combine,
  numberOption,
  release,
  requireRng,
  stepRecord,
  toD,
} from './util.js';

/** Options of {@link restart}. */
export interface RestartOptions extends SamplerOptions {
  /** Lower end of the restart interval; snapped to the nearest sigma of the schedule. Default 0.1. */
  restartSigmaMin?: number;
  /** Upper end of the restart interval (clamped to sigmas[0]). Default 2. */
  restartSigmaMax?: number;
  /** Heun steps of each restart pass (on a Karras ρ = 7 sub-schedule). Default 10 (fewer leave a visible bias: 4 steps shift the mixture means by ~0.2 stds). */
  restartSteps?: number;
  /** How many times the interval is re-run. Default 1. */
  restartTimes?: number;
}

interface Move {
  from: number;
  to: number;
  /** Add noise first to go back up from the previous `to` (a restart). */
  renoiseFrom?: number;
}

/** The step plan: the schedule's own steps, with restart passes inserted after σ_min is reached. */
function plan(sigmas: Float32Array, options: RestartOptions): Move[] {
  const sMin = numberOption('restart', options, 'restartSigmaMin', 0.1);
  const sMax = Math.min(numberOption('restart', options, 'restartSigmaMax', 2), sigmas[0]);
  const steps = Math.max(1, Math.round(numberOption('restart', options, 'restartSteps', 10, 1)));
  const times = Math.round(numberOption('restart', options, 'restartTimes', 1));
  let j = 1; // index of the schedule sigma nearest to sMin, never the final 0
  for (let k = 1; k < sigmas.length - 1; k++) {
    if (Math.abs(sigmas[k] - sMin) < Math.abs(sigmas[j] - sMin)) j = k;
  }
  const moves: Move[] = [];
  for (let i = 0; i < sigmas.length - 1; i++) {
    moves.push({ from: sigmas[i], to: sigmas[i + 1] });
    if (i + 1 === j && sigmas.length > 2 && sMax > sigmas[j]) {
      const sub = karrasSigmas({ numSteps: steps, sigmaMin: sigmas[j], sigmaMax: sMax }); // ends …, σ_min, 0
      for (let t = 0; t < times; t++) {
        for (let k = 0; k < steps; k++) {
          moves.push({
            from: sub[k],
            to: sub[k + 1],
            renoiseFrom: k === 0 ? sigmas[j] : undefined,
          });
        }
      }
    }
  }
  return moves;
}

/**
 * Restart sampling (Xu et al. 2023): Heun steps along the given schedule;
 * on reaching σ_min (the schedule sigma nearest `restartSigmaMin`) add noise
 * √(σ_max² − σ_min²)·z to jump back to σ_max and run the interval again with
 * `restartSteps` Heun steps, `restartTimes` times; then finish the schedule.
 * Every move, main or restart, is one yielded step.
 */
function* restartProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: RestartOptions,
) {
  const rng = requireRng('restart', options);
  const model = bindDenoiser(denoiser, options.cond);
  const moves = plan(sigmas, options);
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  try {
    for (let i = 0; i < moves.length; i++) {
      const { from, to, renoiseFrom } = moves[i];
      if (renoiseFrom !== undefined) {
        const noisy = addNoise(x, rng, Math.sqrt(from ** 2 - renoiseFrom ** 2));
        x.dispose();
        x = noisy;
      }
      release(denoised);
      denoised = model(x, from);
      const current = x;
      const d0 = denoised;
      const next = tf.tidy(() => {
        const d = toD(current, d0, from);
        const euler = combine([1, current], [to - from, d]);
        if (to === 0) return euler;
        const d2 = toD(euler, model(euler, to), to);
        return combine([1, current], [(to - from) / 2, d], [(to - from) / 2, d2]);
      });
      x.dispose();
      x = next;
      yield stepRecord(i, from, to, x, denoised, i === moves.length - 1);
    }
    return tf.clone(x);
  } finally {
    release(x, denoised);
  }
}

/**
 * **Restart** (Xu et al. 2023; ComfyUI `restart`): Heun with restart passes
 * that add noise and re-run an interval, stochastic, 2 NFE per step plus
 * 2·restartSteps·restartTimes for the restarts. Needs `options.rng`.
 *
 * @example
 * ```ts
 * const x0 = restart.sample(denoiser, xT, sigmas, { rng: new Rng(17), restartSteps: 10 });
 * ```
 */
export const restart = defineSampler<RestartOptions>(
  {
    name: 'restart',
    aliases: ['Restart', 'restart_sampling', 'sample_restart'],
    paper: 'Xu et al. 2023, Restart Sampling for Improving Generative Processes, arXiv 2306.14878',
    stochastic: true,
    order: 0,
    nfePerStep: 2,
  },
  restartProgram,
);
