/**
 * `OneHot` for the wasm backend. The shipped kernel always writes int32 values
 * but labels the output with the requested dtype, so `tf.oneHot(i, n, 1, 0,
 * 'float32')` reads as 1.4e-45 (the bit pattern of int32 1). Here non-int32
 * requests build the int32 one-hot and convert it:
 *   out = on · I + off · (1 − I),  I = cast(oneHot₀₁).
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeAsKernel, kernelArgs } from './as-kernel.js';

/** Builds the kernel function registered as `OneHot` on `'wasm'`, delegating int32 requests to `original`. */
export function makeOneHot(original: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { backend, attrs } = kernelArgs<'indices', tf.OneHotAttrs>('OneHot', params, ['indices']);
    const { dtype, onValue, offValue } = attrs;
    if (dtype === 'int32') return original(params);
    const binary = original({
      ...params,
      attrs: { ...params.attrs, dtype: 'int32', onValue: 1, offValue: 0 },
    });
    const binaryInfo = Array.isArray(binary) ? binary[0] : binary;
    return computeAsKernel(backend, () => {
      // Own the shipped kernel's fresh output: this wrapper's disposal frees it.
      const indicator = tf.engine().makeTensorFromTensorInfo(binaryInfo);
      const values = tf.cast(indicator, dtype);
      if (onValue === 1 && offValue === 0) return values;
      // on·I + off·(1 − I): exact, since one term is always a product with 0.
      return tf.add(tf.mul(values, onValue), tf.mul(tf.sub(1, values), offValue));
    });
  };
}
