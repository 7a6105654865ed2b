/**
 * `MaxPoolGrad` for the wasm backend. The shipped kernel routes no gradient
 * (or the wrong one) through windows whose maximum is negative: with
 * x = −1 − i on a 4×4 image, 2×2 pooling, only the first window gets its
 * gradient. It is right when every value is positive, and which element of a
 * window is largest does not change under a shift, so the input is shifted to
 * x − min(x) + 1 ≥ 1 before calling it. (Elements closer than float32
 * resolution at the shifted magnitude become ties; ties go to the first, as in
 * TensorFlow.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, kernelArgs } from './as-kernel.js';

/** Wraps the shipped `MaxPoolGrad` so that it sees a positive input. */
export function makeMaxPoolGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { inputs, backend } = kernelArgs<'dy' | 'input' | 'output', tf.MaxPoolGradAttrs>(
      'MaxPoolGrad',
      params,
      ['dy', 'input', 'output'],
    );
    const shifted = tf.tidy(() => {
      const x = asTensor(inputs.input, backend);
      return tf.add(tf.sub(x, tf.min(x)), 1);
    });
    try {
      return original({ ...params, inputs: { ...params.inputs, input: shifted } });
    } finally {
      shifted.dispose();
    }
  };
}
