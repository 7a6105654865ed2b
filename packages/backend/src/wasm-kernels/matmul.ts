/**
 * `BatchMatMul` and `_FusedMatMul` for the wasm backend with the transpose
 * flags handled up front. The shipped kernels are 10–27× slower with
 * `transposeA`/`transposeB` set than an explicit transpose followed by a plain
 * product, and every matMul gradient sets one of them (dA = dC·Bᵀ, dB = Aᵀ·dC).
 * Untransposed calls go straight to the shipped kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, kernelArgs } from './as-kernel.js';

/** Swaps the last two axes: [..., m, n] → [..., n, m]. */
function transposeLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, axis) => axis);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/**
 * Wraps the shipped `BatchMatMul` or `_FusedMatMul` kernel: when a transpose
 * flag is set, materialise that transpose and call the shipped kernel without
 * flags. The transposed copies are disposed before returning; the output is the
 * shipped kernel's (one fresh backend reference, owned by the engine).
 */
export function makeTransposeFirstMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { inputs, backend, attrs } = kernelArgs<'a' | 'b', tf.BatchMatMulAttrs>(
      'BatchMatMul',
      params,
      ['a', 'b'],
    );
    if (!attrs.transposeA && !attrs.transposeB) return original(params);
    const transposed: tf.Tensor[] = [];
    const prepare = (info: tf.TensorInfo, flag: boolean): tf.TensorInfo => {
      if (!flag) return info;
      const t = tf.tidy(() => transposeLast(asTensor(info, backend)));
      transposed.push(t);
      return t;
    };
    try {
      const a = prepare(inputs.a, attrs.transposeA);
      const b = prepare(inputs.b, attrs.transposeB);
      return original({
        ...params,
        inputs: { ...inputs, a, b },
        attrs: { ...params.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      tf.dispose(transposed);
    }
  };
}
