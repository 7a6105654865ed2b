// Classifier-free guidance for language models (Sanchez et al. 2023,
// arXiv 2306.17806): z = z_u + w(z_c − z_u), where z_c are the conditional
// logits (the ones being processed) and z_u come from a pass without the
// prompt (or with a negative prompt).

import type { LogitsProcessor, TokenContext } from '@sculpt/core';
import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkFinite, checkLogits } from './internal.js';

/** Where the unconditional logits come from. */
export type UnconditionalLogits = tf.Tensor2D | ((ctx: TokenContext) => tf.Tensor2D);

/** Options for {@link cfgProcessor}. */
export interface CfgOptions {
  /** w: `1` returns the conditional logits, `0` the unconditional ones, > 1 pushes away from them. Typical: 1.5. */
  guidanceScale: number;
  /**
   * z_u [B, V]: a tensor (the caller keeps owning it) or a callback called
   * once per step with the same context (the processor disposes what it returns).
   */
  unconditional: UnconditionalLogits;
}

/**
 * Classifier-free guidance for language models: z = z_u + w(z_c − z_u).
 * Tokens that are −∞ in either z_c or z_u stay −∞ (no ∞ − ∞ = NaN).
 *
 * @param options - `{ guidanceScale, unconditional }` (both required).
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `guidanceScale` is not finite, `unconditional` is neither a tensor nor a function, or (at call time) shapes differ.
 * @example
 * ```ts
 * const cfg = cfgProcessor({ guidanceScale: 1.5, unconditional: (ctx) => model.logits(withoutPrompt(ctx.tokens)) });
 * const z = cfg(condLogits, ctx);
 * ```
 */
export function cfgProcessor(options: CfgOptions): LogitsProcessor {
  const where = 'cfgProcessor';
  checkFinite(where, 'guidanceScale', options.guidanceScale);
  const w = options.guidanceScale;
  const source = options.unconditional;
  if (!(source instanceof tf.Tensor) && typeof source !== 'function') {
    throw new SculptError(
      where,
      'unconditional must be a Tensor2D or a function (ctx) => Tensor2D',
      `got ${typeof source}`,
    );
  }
  return (logits, ctx) => {
    checkLogits(where, logits);
    const uncond = typeof source === 'function' ? source(ctx) : source;
    try {
      if (
        uncond.rank !== 2 ||
        uncond.shape[0] !== logits.shape[0] ||
        uncond.shape[1] !== logits.shape[1]
      ) {
        throw new SculptError(
          where,
          `unconditional logits must have the shape of the logits ${formatShape(logits.shape)}`,
          `got ${formatShape(uncond.shape)}`,
        );
      }
      return tf.tidy(() => {
        const guided = tf.add(uncond, tf.mul(tf.sub(logits, uncond), w));
        const finite = tf.logicalAnd(tf.greater(logits, -Infinity), tf.greater(uncond, -Infinity));
        return tf.where(finite, guided, tf.fill(logits.shape, -Infinity)) as tf.Tensor2D;
      });
    } finally {
      if (typeof source === 'function') uncond.dispose();
    }
  };
}
