// Loading weights by name into a model's variables, checking each shape.
import { SculptError } from '@sculpt/core';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Assigns `source[name]` to every variable of `targets` (values copied; `source` stays the caller's).
 * @throws SculptError naming the first weight that is missing or of another shape.
 */
export function assignWeights(
  where: string,
  targets: Readonly<Record<string, tf.Variable>>,
  source: Readonly<Record<string, tf.Tensor>>,
): void {
  for (const [name, v] of Object.entries(targets)) {
    const t = source[name];
    if (!t || t.shape.join(',') !== v.shape.join(',')) {
      throw new SculptError(
        where,
        `expected weight '${name}' of shape [${v.shape}]`,
        `got ${t ? `[${t.shape}]` : 'none'}`,
        'the checkpoint was written by a different config',
      );
    }
  }
  for (const [name, v] of Object.entries(targets)) v.assign(source[name]);
}
