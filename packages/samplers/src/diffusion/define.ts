import { AbortError, type Denoiser, type SamplerOptions, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionSampler, DiffusionStep, SamplerInfo, SamplerProgram } from './types.js';

/**
 * Throws a SculptError unless `sigmas` is a Float32Array of ≥ 2 finite,
 * strictly decreasing values ending in 0 (every sampler calls it first).
 *
 * @param where - the function named in the error, e.g. `'euler'`.
 * @example
 * ```ts
 * checkSigmas('mySampler', new Float32Array([14.6, 1, 0])); // ok
 * checkSigmas('mySampler', new Float32Array([14.6, 1]));    // throws "…must end with 0, got 1. Fix: use appendZero(sigmas)."
 * ```
 */
export function checkSigmas(where: string, sigmas: Float32Array): void {
  if (!(sigmas instanceof Float32Array)) {
    throw new SculptError(
      where,
      'sigmas must be a Float32Array',
      `got ${typeof sigmas}`,
      'pass e.g. karrasSigmas({ numSteps, sigmaMin, sigmaMax })',
    );
  }
  if (sigmas.length < 2) {
    throw new SculptError(
      where,
      'sigmas must hold at least 2 values (one step)',
      `got ${sigmas.length}`,
      'pass numSteps + 1 sigmas ending in 0',
    );
  }
  for (let i = 0; i < sigmas.length; i++) {
    if (!Number.isFinite(sigmas[i]) || sigmas[i] < 0) {
      throw new SculptError(
        where,
        'sigmas must be finite and non-negative',
        `got sigmas[${i}] = ${sigmas[i]}`,
      );
    }
    if (i > 0 && !(sigmas[i] < sigmas[i - 1])) {
      throw new SculptError(
        where,
        'sigmas must be strictly decreasing',
        `got sigmas[${i - 1}] = ${sigmas[i - 1]}, sigmas[${i}] = ${sigmas[i]}`,
        'drop repeated sigmas',
      );
    }
  }
  const last = sigmas[sigmas.length - 1];
  if (last !== 0) {
    throw new SculptError(where, 'sigmas must end with 0', `got ${last}`, 'use appendZero(sigmas)');
  }
}

function checkInputs(
  where: string,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: SamplerOptions,
): void {
  if (!(xT instanceof tf.Tensor) || xT.rank < 1 || xT.dtype !== 'float32') {
    const got =
      xT instanceof tf.Tensor ? `a ${xT.dtype} tensor of rank ${xT.rank}` : `${typeof xT}`;
    throw new SculptError(
      where,
      'xT must be a float32 tensor with a batch dimension',
      `got ${got}`,
    );
  }
  if (xT.isDisposed)
    throw new SculptError(where, 'xT must not be disposed', 'got a disposed tensor');
  checkSigmas(where, sigmas);
  throwIfAborted(where, options.signal);
}

function throwIfAborted(where: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new AbortError(where, 'sampling stopped by options.signal');
  }
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Builds a {@link DiffusionSampler} from its registry info and its program
 * (a generator over steps). The three entry points share one driver: it
 * validates the inputs, checks `options.signal` before every step, calls
 * `options.onStep`, and closes the generator (freeing its tensors) on every
 * exit path.
 *
 * @param info - name, aliases, paper, stochastic, order, NFE per step.
 * @param program - the algorithm, one generator per file.
 * @returns a frozen sampler object; its `sample` fits core's `Sampler` contract.
 * @example
 * ```ts
 * export const euler = defineSampler({ name: 'euler', aliases: ['Euler'], paper: '…',
 *   stochastic: false, order: 1, nfePerStep: 1 }, eulerProgram);
 * const x0 = euler.sample(denoiser, xT, sigmas);
 * ```
 */
export function defineSampler<O extends SamplerOptions>(
  info: SamplerInfo,
  program: SamplerProgram<O>,
): DiffusionSampler<O> {
  const where = info.name;
  function start(denoiser: Denoiser, xT: tf.Tensor, sigmas: Float32Array, options: O) {
    if (typeof denoiser !== 'function') {
      throw new SculptError(
        where,
        'denoiser must be a function (x, sigma, cond) => x0',
        `got ${typeof denoiser}`,
      );
    }
    checkInputs(where, xT, sigmas, options);
    return program(denoiser, xT, sigmas, options);
  }
  function sample(denoiser: Denoiser, xT: tf.Tensor, sigmas: Float32Array, options = {} as O) {
    const gen = start(denoiser, xT, sigmas, options);
    try {
      for (;;) {
        const r = gen.next();
        if (r.done) return r.value;
        options.onStep?.(r.value);
        throwIfAborted(where, options.signal);
      }
    } finally {
      gen.return(undefined as never);
    }
  }
  async function sampleAsync(
    denoiser: Denoiser,
    xT: tf.Tensor,
    sigmas: Float32Array,
    options = {} as O,
  ) {
    const gen = start(denoiser, xT, sigmas, options);
    try {
      for (;;) {
        const r = gen.next();
        if (r.done) return r.value;
        options.onStep?.(r.value);
        await nextMacrotask();
        throwIfAborted(where, options.signal);
      }
    } finally {
      gen.return(undefined as never);
    }
  }
  async function* steps(
    denoiser: Denoiser,
    xT: tf.Tensor,
    sigmas: Float32Array,
    options = {} as O,
  ): AsyncGenerator<DiffusionStep, void, void> {
    const gen = start(denoiser, xT, sigmas, options);
    try {
      for (;;) {
        const r = gen.next();
        if (r.done) {
          r.value.dispose(); // the last step already handed this sample out
          return;
        }
        options.onStep?.(r.value);
        yield r.value;
        await nextMacrotask();
        throwIfAborted(where, options.signal);
      }
    } finally {
      gen.return(undefined as never);
    }
  }
  return Object.freeze({
    ...info,
    aliases: Object.freeze([...info.aliases]),
    sample,
    sampleAsync,
    steps,
  });
}
