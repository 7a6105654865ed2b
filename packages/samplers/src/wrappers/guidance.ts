// Denoiser wrappers applied on top of any model: classifier-free guidance
// (Ho & Salimans 2022, arXiv 2207.12598) with guidance rescale (Lin et al.
// 2024, arXiv 2305.08891, eq. 15–16), and dynamic thresholding (Imagen,
// Saharia et al. 2022, arXiv 2205.11487).

import { type Conditioning, type Denoiser, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { perItem } from './discrete.js';

/** Options for {@link classifierFreeGuidance}. */
export interface ClassifierFreeGuidanceOptions {
  /** w in D = D_u + w·(D_c − D_u). 1 means no guidance (one evaluation); 0 gives the unconditional model. Default `3`. */
  guidanceScale?: number;
  /**
   * The unconditional (or negative) conditioning, or a function deriving it
   * from the conditional one (e.g. replace labels by the null label). A
   * negative prompt goes here: guidance then pushes away from it.
   */
  uncond: Conditioning | ((cond: Conditioning | undefined) => Conditioning);
  /** φ in [0, 1]: blend with the std-rescaled guided prediction (Lin et al.). Default `0`. */
  guidanceRescale?: number;
}

/** Concatenates two conditionings along the batch axis (tensors) after checking that scalars agree. */
function stackConditioning(a: Conditioning | undefined, b: Conditioning): Conditioning {
  const out: Conditioning = {};
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b)]);
  for (const key of keys) {
    const va = a?.[key];
    const vb = b[key];
    if (va instanceof tf.Tensor && vb instanceof tf.Tensor) {
      out[key] = tf.concat([va, vb], 0);
    } else if (va instanceof tf.Tensor || vb instanceof tf.Tensor) {
      throw new SculptError(
        'classifierFreeGuidance',
        `conditioning '${key}' must be a tensor in both the conditional and the unconditional input`,
        `got ${va instanceof tf.Tensor ? 'a tensor' : typeof va} and ${vb instanceof tf.Tensor ? 'a tensor' : typeof vb}`,
        'give uncond the same keys as cond (e.g. labels filled with the null label)',
      );
    } else if (va !== vb && va !== undefined && vb !== undefined) {
      throw new SculptError(
        'classifierFreeGuidance',
        `non-tensor conditioning '${key}' must match`,
        `got ${String(va)} and ${String(vb)}`,
      );
    } else {
      out[key] = va ?? vb;
    }
  }
  return out;
}

/** Per-item standard deviation over all but the batch axis: `[B]`. */
function stdPerItem(x: tf.Tensor): tf.Tensor1D {
  const flat = tf.reshape(x, [x.shape[0], -1]);
  return tf.sqrt(tf.moments(flat, 1).variance) as tf.Tensor1D;
}

/**
 * Classifier-free guidance as a {@link Denoiser} wrapper: evaluates the
 * conditional and unconditional inputs in one batch and returns
 * D_u + w·(D_c − D_u). With `guidanceRescale` φ > 0 the guided noise
 * prediction is rescaled to the conditional one's std and blended (eq. 15–16
 * of Lin et al., applied to ε = (x − D)/σ as diffusers does).
 *
 * @example
 * ```ts
 * const guided = classifierFreeGuidance(denoiser, {
 *   guidanceScale: 4,
 *   uncond: (cond) => ({ labels: tf.fill(cond!.labels!.shape, NULL_LABEL, 'int32') }),
 * });
 * ```
 */
export function classifierFreeGuidance(
  denoiser: Denoiser,
  options: ClassifierFreeGuidanceOptions,
): Denoiser {
  const { guidanceScale = 3, uncond, guidanceRescale = 0 } = options;
  if (!Number.isFinite(guidanceScale) || guidanceScale < 0) {
    throw new SculptError(
      'classifierFreeGuidance',
      'guidanceScale must be a finite number ≥ 0',
      `got ${guidanceScale}`,
      'use 1 for no guidance, 3–8 for typical guidance',
    );
  }
  if (!(guidanceRescale >= 0 && guidanceRescale <= 1)) {
    throw new SculptError(
      'classifierFreeGuidance',
      'guidanceRescale must be in [0, 1]',
      `got ${guidanceRescale}`,
    );
  }
  if (uncond === undefined) {
    throw new SculptError(
      'classifierFreeGuidance',
      'options.uncond is required',
      'got undefined',
      'pass the null-label conditioning or a function that builds it',
    );
  }
  return (x, sigma, cond) => {
    if (guidanceScale === 1) return denoiser(x, sigma, cond);
    return tf.tidy(() => {
      // Built inside tidy: tensors a function `uncond` makes are freed with the rest.
      const unconditional = typeof uncond === 'function' ? uncond(cond) : uncond;
      const both = stackConditioning(cond, unconditional);
      const batch = x.shape[0];
      const out = denoiser(tf.concat([x, x], 0), tf.concat([sigma, sigma], 0) as tf.Tensor1D, both);
      const [dCond, dUncond] = tf.split(out, [batch, batch], 0);
      const guided = tf.add(dUncond, tf.mul(tf.sub(dCond, dUncond), guidanceScale));
      if (guidanceRescale === 0) return guided;
      // Rescale in ε-space: ε = (x − D)/σ.
      const s = perItem(tf.maximum(sigma, 1e-8) as tf.Tensor1D, x.rank);
      const epsCond = tf.div(tf.sub(x, dCond), s);
      const epsGuided = tf.div(tf.sub(x, guided), s);
      const ratio = tf.div(stdPerItem(epsCond), tf.maximum(stdPerItem(epsGuided), 1e-12));
      const epsRescaled = tf.mul(epsGuided, perItem(ratio as tf.Tensor1D, x.rank));
      const eps = tf.add(
        tf.mul(epsRescaled, guidanceRescale),
        tf.mul(epsGuided, 1 - guidanceRescale),
      );
      return tf.sub(x, tf.mul(s, eps));
    });
  };
}

/** Options for {@link dynamicThresholding}. */
export interface DynamicThresholdingOptions {
  /** Percentile p of |x̂₀| (per sample) used as the threshold s. Default `0.995`. */
  percentile?: number;
  /** Upper bound on s (diffusers' `sample_max_value`). Default `1`. */
  maxValue?: number;
}

/**
 * Dynamic thresholding of the denoised estimate (Imagen): s = max(1,
 * min(maxValue, percentile_p |x̂₀|)) per sample, then x̂₀ ← clip(x̂₀, −s, s)/s.
 * Keeps high-guidance samples inside the data range [−1, 1].
 *
 * @example
 * ```ts
 * const denoiser = dynamicThresholding(classifierFreeGuidance(base, { guidanceScale: 8, uncond }));
 * ```
 */
export function dynamicThresholding(
  denoiser: Denoiser,
  options: DynamicThresholdingOptions = {},
): Denoiser {
  const { percentile = 0.995, maxValue = 1 } = options;
  if (!(percentile > 0 && percentile <= 1)) {
    throw new SculptError(
      'dynamicThresholding',
      'percentile must be in (0, 1]',
      `got ${percentile}`,
    );
  }
  if (!(maxValue >= 1)) {
    throw new SculptError('dynamicThresholding', 'maxValue must be ≥ 1', `got ${maxValue}`);
  }
  return (x, sigma, cond) =>
    tf.tidy(() => {
      const x0 = denoiser(x, sigma, cond);
      const batch = x0.shape[0];
      const flat = tf.abs(tf.reshape(x0, [batch, -1]));
      const n = flat.shape[1] as number;
      // The k-th largest |x̂₀| with k = ⌈(1−p)·n⌉ (at least 1) is the p-quantile.
      const k = Math.max(1, Math.ceil((1 - percentile) * n));
      const kth = tf.slice(tf.topk(flat, k).values, [0, k - 1], [batch, 1]); // [B, 1]
      const s = tf.clipByValue(tf.reshape(kth, [batch]), 1, maxValue) as tf.Tensor1D;
      const sb = perItem(s, x0.rank);
      return tf.div(tf.minimum(tf.maximum(x0, tf.neg(sb)), sb), sb);
    });
}
