// img2img (SDEdit, Meng et al. 2022, arXiv 2108.01073) and inpainting that
// work with every sampler, because they only build a starting point, a sigma
// schedule and a Denoiser wrapper: no sampler needs to know about them.

import {
  type Conditioning,
  type Denoiser,
  formatShape,
  type Rng,
  type Sampler,
  type SamplerOptions,
  SculptError,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

function checkSigmas(where: string, sigmas: Float32Array): void {
  if (!(sigmas instanceof Float32Array) || sigmas.length < 2 || sigmas[sigmas.length - 1] !== 0) {
    throw new SculptError(
      where,
      'sigmas must be a Float32Array of at least 2 values ending in 0',
      `got ${sigmas?.length ?? typeof sigmas} values`,
      'build them with karrasSigmas() or discreteSigmas()',
    );
  }
}

/** What img2img and inpaint pass through to the sampler. */
export interface PassThroughOptions {
  /** Conditioning handed to the denoiser. */
  cond?: Conditioning;
  /** Per-step callback (see `SamplerOptions.onStep`). */
  onStep?: SamplerOptions['onStep'];
  /** Stops sampling between steps. */
  signal?: AbortSignal;
  /** Sampler-specific options (eta, churn, order, …). */
  samplerOptions?: Record<string, unknown>;
}

/** A sampler run that yields between steps, e.g. a registered sampler's `sampleAsync`. */
export type AsyncSampler = (
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options?: SamplerOptions,
) => Promise<tf.Tensor>;

/** Options for {@link img2img}. */
export interface Img2ImgOptions extends PassThroughOptions {
  /** The sampler to run (any registered one, e.g. `getSampler('dpmpp-2m')`). */
  sampler: Sampler;
  /** The denoiser of the model. */
  denoiser: Denoiser;
  /** The starting image(s) in the model's data space, `[B, …]`. Not disposed. */
  image: tf.Tensor;
  /** The full schedule for `numSteps` steps (descending, ends in 0). */
  sigmas: Float32Array;
  /** In (0, 1]: how much of the schedule to run. 1 = from pure noise, 0.3 = light edit. */
  strength: number;
  /** Noise source (required). */
  rng: Rng;
}

/**
 * img2img / SDEdit: noise `image` to the level the `strength` picks, then run
 * the sampler over the rest of the schedule. As in diffusers, `strength` s
 * runs the last ⌊s·n⌋ of the n steps (at least one).
 *
 * @returns the edited image(s), same shape as `image`; the caller owns it.
 * @example
 * ```ts
 * const edited = img2img({ sampler: getSampler('euler'), denoiser, image, sigmas: karrasSigmas({ numSteps: 20, sigmaMin: 0.03, sigmaMax: 14.6 }), strength: 0.5, rng: new Rng(0) });
 * ```
 */
export function img2img(options: Img2ImgOptions): tf.Tensor {
  const { xStart, tail } = img2imgStart(options);
  try {
    return options.sampler(options.denoiser, xStart, tail, passThrough(options));
  } finally {
    xStart.dispose();
  }
}

/** Options for {@link img2imgAsync}: those of {@link img2img} with an {@link AsyncSampler}. */
export interface Img2ImgAsyncOptions extends Omit<Img2ImgOptions, 'sampler'> {
  /** e.g. `getSampler('dpmpp-2m').sampleAsync`. */
  sampler: AsyncSampler;
}

/**
 * {@link img2img} that yields to the event loop between sampler steps (a page
 * stays responsive) and stops at `signal` with an AbortError, leaking nothing.
 *
 * @returns the edited image(s), same shape as `image`; the caller owns it.
 * @example
 * ```ts
 * const edited = await img2imgAsync({ sampler: getSampler('euler').sampleAsync, denoiser, image, sigmas, strength: 0.5, rng: new Rng(0), signal });
 * ```
 */
export async function img2imgAsync(options: Img2ImgAsyncOptions): Promise<tf.Tensor> {
  const { xStart, tail } = img2imgStart(options);
  try {
    return await options.sampler(options.denoiser, xStart, tail, passThrough(options));
  } finally {
    xStart.dispose();
  }
}

/** What every sampler run of a pipeline gets: the caller's pass-through options and the Rng. */
function passThrough(options: PassThroughOptions & { rng: Rng }): SamplerOptions {
  const { samplerOptions, cond, onStep, signal, rng } = options;
  return { ...samplerOptions, cond, onStep, signal, rng };
}

/** Checks img2img's inputs and noises the image to the σ that `strength` picks: `xStart` is the caller's. */
function img2imgStart(options: Omit<Img2ImgOptions, 'sampler'>) {
  const { image, sigmas, strength, rng } = options;
  checkSigmas('img2img', sigmas);
  if (!(strength > 0 && strength <= 1)) {
    throw new SculptError(
      'img2img',
      'strength must be in (0, 1]',
      `got ${strength}`,
      'use e.g. 0.5; 1 starts from pure noise',
    );
  }
  const numSteps = sigmas.length - 1;
  const start = numSteps - Math.max(1, Math.floor(strength * numSteps));
  const tail = sigmas.slice(start);
  const noise = rng.normal(image.shape);
  const xStart = tf.tidy(() => tf.add(image, tf.mul(noise, tail[0])));
  noise.dispose();
  return { xStart, tail };
}

/** Options for {@link inpaint}. */
export interface InpaintOptions extends PassThroughOptions {
  /** The sampler to run (any registered one). */
  sampler: Sampler;
  /** The denoiser of the model. */
  denoiser: Denoiser;
  /** The known image(s) in data space, `[B, …]`. Not disposed. */
  image: tf.Tensor;
  /** 1 where new content is generated, 0 where `image` is kept; broadcastable to `image` (e.g. `[B, H, W, 1]`). Not disposed. */
  mask: tf.Tensor;
  /** The schedule (descending, ends in 0). */
  sigmas: Float32Array;
  /** Noise source (required). */
  rng: Rng;
  /**
   * RePaint-style resampling (Lugmayr et al. 2022): after a full pass, renoise
   * the result back to `sigmas[resampleFrom]` and sample again, this many
   * times, so the generated region harmonises with the known one. Default `0`.
   */
  resampleCount?: number;
  /** Index into `sigmas` that each resampling restarts from. Default: the middle of the schedule. */
  resampleFrom?: number;
}

/**
 * Inpainting with any sampler. The model only ever sees a consistent image:
 * in the known region its input is the known image noised to the current σ
 * (RePaint's q(x_t | x₀) for the known part, with noise fixed per call), and
 * its estimate there is replaced by the known image. The masked region comes
 * from the sampler. Optional RePaint-style resampling jumps back and samples
 * again.
 *
 * @returns the inpainted image(s), same shape as `image`, equal to `image` where `mask` is 0; the caller owns it.
 * @example
 * ```ts
 * const filled = inpaint({ sampler: getSampler('dpmpp-2m'), denoiser, image, mask, sigmas, rng: new Rng(1), resampleCount: 2 });
 * ```
 */
export function inpaint(options: InpaintOptions): tf.Tensor {
  const job = inpaintJob(options);
  const program = job.program();
  try {
    let r = program.next();
    while (!r.done) {
      r = program.next(options.sampler(job.masked, r.value.xStart, r.value.schedule, job.run));
    }
    return job.finish(r.value);
  } finally {
    program.return(undefined as never);
    job.dispose();
  }
}

/** Options for {@link inpaintAsync}: those of {@link inpaint} with an {@link AsyncSampler}. */
export interface InpaintAsyncOptions extends Omit<InpaintOptions, 'sampler'> {
  /** e.g. `getSampler('dpmpp-2m').sampleAsync`. */
  sampler: AsyncSampler;
}

/**
 * {@link inpaint} that yields to the event loop between sampler steps and
 * stops at `signal` with an AbortError, leaking nothing.
 *
 * @returns the inpainted image(s); the caller owns it.
 * @example
 * ```ts
 * const filled = await inpaintAsync({ sampler: getSampler('euler').sampleAsync, denoiser, image, mask, sigmas, rng: new Rng(1), signal });
 * ```
 */
export async function inpaintAsync(options: InpaintAsyncOptions): Promise<tf.Tensor> {
  const job = inpaintJob(options);
  const program = job.program();
  try {
    let r = program.next();
    while (!r.done) {
      const x = await options.sampler(job.masked, r.value.xStart, r.value.schedule, job.run);
      r = program.next(x);
    }
    return job.finish(r.value);
  } finally {
    program.return(undefined as never);
    job.dispose();
  }
}

/** One sampler run the inpainting program asks for; the driver hands back its result. */
interface SamplerRun {
  xStart: tf.Tensor;
  schedule: Float32Array;
}

function checkInpaint(options: Omit<InpaintOptions, 'sampler'>): number {
  const { image, mask, sigmas, resampleCount = 0, resampleFrom } = options;
  checkSigmas('inpaint', sigmas);
  const broadcastable =
    mask.rank === image.rank && mask.shape.every((d, i) => d === 1 || d === image.shape[i]);
  if (!broadcastable) {
    throw new SculptError(
      'inpaint',
      `mask must broadcast to the image shape ${formatShape(image.shape)}`,
      `got ${formatShape(mask.shape)}`,
      'pass a mask like [B, H, W, 1] with 1 where to generate',
    );
  }
  if (!Number.isInteger(resampleCount) || resampleCount < 0) {
    throw new SculptError(
      'inpaint',
      'resampleCount must be a non-negative integer',
      `got ${resampleCount}`,
    );
  }
  const from = resampleFrom ?? Math.floor((sigmas.length - 1) / 2);
  if (!Number.isInteger(from) || from < 0 || from >= sigmas.length - 1) {
    throw new SculptError(
      'inpaint',
      `resampleFrom must be an index in [0, ${sigmas.length - 2}]`,
      `got ${resampleFrom}`,
    );
  }
  return from;
}

/**
 * The inpainting shared by the sync and async drivers: the masked denoiser,
 * and a program that yields each sampler run (the first pass, then one per
 * RePaint resampling) and gets its result back. Every tensor it makes is
 * disposed by `dispose()` or by the program's own `finally`, also when a run
 * throws (an abort) and the driver returns the program early.
 */
function inpaintJob(options: Omit<InpaintOptions, 'sampler'>) {
  const { denoiser, image, mask, sigmas, rng, resampleCount = 0 } = options;
  const from = checkInpaint(options);
  const known = tf.keep(tf.tidy(() => tf.mul(image, tf.sub(1, mask))));
  const keepMask = tf.keep(tf.sub(1, mask));
  const fixedNoise = rng.normal(image.shape);
  const masked: Denoiser = (x, sigma, c?: Conditioning) =>
    tf.tidy(() => {
      const s = tf.reshape(sigma, [sigma.shape[0], ...new Array(x.rank - 1).fill(1)]);
      const knownNoised = tf.add(image, tf.mul(fixedNoise, s));
      const input = tf.add(tf.mul(x, mask), tf.mul(knownNoised, keepMask));
      const d = denoiser(input, sigma, c);
      return tf.add(tf.mul(d, mask), known);
    });
  function* program(): Generator<SamplerRun, tf.Tensor, tf.Tensor> {
    const noise = rng.normal(image.shape);
    const xT = tf.tidy(() => tf.add(image, tf.mul(noise, sigmas[0])));
    noise.dispose();
    let x: tf.Tensor;
    try {
      x = yield { xStart: xT, schedule: sigmas };
    } finally {
      xT.dispose();
    }
    for (let r = 0; r < resampleCount; r++) {
      const z = rng.normal(image.shape);
      const renoised = tf.tidy(() => tf.add(x, tf.mul(z, sigmas[from])));
      tf.dispose([z, x]);
      try {
        x = yield { xStart: renoised, schedule: sigmas.slice(from) };
      } finally {
        renoised.dispose();
      }
    }
    return x;
  }
  return {
    masked,
    program,
    run: passThrough(options),
    /** The known pixels pasted back in; `x` is disposed. */
    finish(x: tf.Tensor): tf.Tensor {
      const out = tf.tidy(() => tf.add(tf.mul(x, mask), known));
      x.dispose();
      return out;
    },
    dispose: () => tf.dispose([known, keepMask, fixedNoise]),
  };
}
