/**
 * `UnsortedSegmentSum` for the wasm backend, which ships none. It is the
 * gradient of `tf.gather` (every embedding lookup, every VQ codebook lookup),
 * so without it no token model trains on wasm.
 *
 *   out[s, ...] = Σ_{i : ids[i] = s} x[i, ...],   s ∈ [0, numSegments)
 *
 * is a `scatterND` of the rows of x to their ids: the wasm ScatterNd kernel
 * adds rows that share an id, O(N·D) work. As in TensorFlow, rows whose id is
 * negative or ≥ numSegments are dropped (here: scattered as zeros to row 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, computeAsKernel, kernelArgs } from './as-kernel.js';

/** out = segment sums of `x` by `segmentIds` (ids shape = a prefix of x's shape). */
function segmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  const rows = segmentIds.size;
  const rowShape = x.shape.slice(segmentIds.rank);
  const ids = tf.reshape(segmentIds, [rows]); // [M]
  const valid = tf.logicalAnd(tf.greaterEqual(ids, 0), tf.less(ids, numSegments)); // [M]
  const safeIds = tf.reshape(tf.where(valid, ids, tf.zerosLike(ids)), [rows, 1]); // [M, 1]
  const mask = tf.reshape(tf.cast(valid, x.dtype), [rows, ...rowShape.map(() => 1)]);
  const updates = tf.mul(tf.reshape(x, [rows, ...rowShape]), mask); // [M, ...]
  return tf.scatterND(safeIds, updates, [numSegments, ...rowShape]);
}

/** The kernel function registered as `UnsortedSegmentSum` on `'wasm'`. */
export const unsortedSegmentSum: tf.KernelFunc = (params) => {
  const { inputs, backend, attrs } = kernelArgs<'x' | 'segmentIds', tf.UnsortedSegmentSumAttrs>(
    'UnsortedSegmentSum',
    params,
    ['x', 'segmentIds'],
  );
  return computeAsKernel(backend, () =>
    segmentSum(
      asTensor(inputs.x, backend),
      asTensor(inputs.segmentIds, backend),
      attrs.numSegments,
    ),
  );
};
