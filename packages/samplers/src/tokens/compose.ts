import type { LogitsProcessor } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Chains logits processors left to right: `composeProcessors(a, b)(z, ctx)`
 * is `b(a(z, ctx), ctx)`. Intermediate results are disposed; the input is not.
 * With no processors it returns a copy of the logits.
 *
 * @param processors - the processors, applied in order.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if an argument is not a function.
 * @example
 * ```ts
 * const chain = composeProcessors(
 *   repetitionPenaltyProcessor({ penalty: 1.2 }),
 *   temperatureProcessor({ temperature: 0.8 }),
 *   topPProcessor({ topP: 0.9 }),
 * );
 * const z = chain(logits, { tokens, step }); // caller disposes z
 * ```
 */
export function composeProcessors(...processors: LogitsProcessor[]): LogitsProcessor {
  processors.forEach((p, i) => {
    if (typeof p !== 'function') {
      throw new SculptError(
        'composeProcessors',
        'every argument must be a LogitsProcessor function',
        `got ${typeof p} at position ${i}`,
      );
    }
  });
  return (logits, ctx) => {
    let x = logits;
    try {
      for (const p of processors) {
        const next = p(x, ctx);
        if (x !== logits && x !== next) x.dispose();
        x = next;
      }
    } catch (err) {
      if (x !== logits) x.dispose();
      throw err;
    }
    return x === logits ? tf.clone(logits) : x;
  };
}
