import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The arguments tfjs passes to a kernel function, with the backend, the named
 * inputs and the attributes typed. Kernel functions receive `TensorInfo`s
 * (usually real `Tensor`s when called through an op) and return `TensorInfo`s
 * that the engine wraps into tensors.
 */
export interface KernelArgs<K extends string, A> {
  inputs: Record<K, tf.TensorInfo>;
  backend: tf.KernelBackend;
  attrs: A;
}

/**
 * Narrows tfjs's loosely typed kernel arguments (`backend: {}`, optional
 * inputs, `attrs?: NamedAttrMap`), checking that the required inputs arrived.
 */
export function kernelArgs<K extends string, A>(
  kernelName: string,
  params: Parameters<tf.KernelFunc>[0],
  required: readonly K[],
): KernelArgs<K, A> {
  for (const name of required) {
    if (params.inputs[name] == null) {
      throw new SculptError(
        `${kernelName} (wasm)`,
        `expected input '${name}'`,
        'got none',
        'call the kernel through its tfjs op',
      );
    }
  }
  return {
    inputs: params.inputs as Record<K, tf.TensorInfo>,
    backend: params.backend as tf.KernelBackend,
    attrs: (params.attrs ?? {}) as unknown as A,
  };
}

/**
 * Views a kernel input as a `Tensor` usable by tfjs ops. Inputs arriving from
 * an op already are tensors; a bare `TensorInfo` (a kernel called by another
 * kernel) is wrapped, and its backend ref-count raised so that disposing the
 * wrapper (at the end of the enclosing `tidy`) leaves the caller's data alive.
 * Must be called inside `tf.tidy`.
 */
export function asTensor(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor {
  if (info instanceof tf.Tensor) return info;
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * Runs `compute` (tfjs ops on the active backend) as the body of a kernel and
 * returns its result as a bare `TensorInfo` that owns one backend reference:
 * every intermediate is disposed by `tf.tidy`, the result's data survives the
 * disposal of its wrapper, and the engine wraps it into the op's output tensor.
 * Ops run inside a kernel are not recorded on the gradient tape (tfjs only tapes
 * at kernel depth 0), so this is invisible to autodiff.
 */
export function computeAsKernel(
  backend: tf.KernelBackend,
  compute: () => tf.Tensor,
): tf.TensorInfo {
  const out = tf.tidy(compute);
  const { dataId, shape, dtype } = out;
  backend.incRef(dataId);
  out.dispose();
  return { dataId, shape, dtype };
}
