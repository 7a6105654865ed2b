/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships none (so training
 * any conv net on wasm throws). The filter gradient is itself a convolution,
 * computed here with one forward (XNNPACK) convolution.
 *
 * Notation (NHWC, one spatial axis shown): stride s, top padding p, filter
 * height f, output height Ho.
 *
 *   dW[i, ci, co] = Σ_{n, y} x[n, y·s + i − p, ci] · dy[n, y, co]
 *
 * Read x as a batch of Ci images with N channels, x'[ci, h, n] = x[n, h, ci],
 * and dy as a filter of height Ho from N to Co channels, dy'[y, n, co]; then
 *
 *   dW[i, ci, co] = Σ_{y, n} x'[ci, i + y·s − p, n] · dy'[y, n, co]
 *
 * is a stride-1 convolution of x' by dy' with dilation s and top padding p,
 * whose output height is exactly f once the bottom is padded (or cropped) to
 * p_b = f − 1 + (Ho − 1)·s + 1 − p − H.
 */

import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, computeAsKernel, kernelArgs } from './as-kernel.js';

/** The padding that makes the dilated convolution's output exactly `filterSize` long; negative = crop. */
function trailingPad(
  filterSize: number,
  outSize: number,
  stride: number,
  padBefore: number,
  inSize: number,
): number {
  return filterSize - 1 + (outSize - 1) * stride + 1 - padBefore - inSize;
}

/** dW = conv(x', dy') as described at the top of this file. */
function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  convInfo: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = convInfo;
  const [, height, width] = x.shape;
  const [, outHeight, outWidth] = dy.shape;
  const bottom = trailingPad(filterHeight, outHeight, strideHeight, padInfo.top, height);
  const right = trailingPad(filterWidth, outWidth, strideWidth, padInfo.left, width);
  // Rows/columns past the last window never meet the filter: crop them instead of padding negatively.
  const cropped =
    bottom < 0 || right < 0
      ? tf.slice(
          x,
          [0, 0, 0, 0],
          [-1, height + Math.min(bottom, 0), width + Math.min(right, 0), -1],
        )
      : x;
  const xT = tf.transpose(cropped, [3, 1, 2, 0]); // [Ci, H, W, N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
  const padding: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [padInfo.top, Math.max(bottom, 0)],
    [padInfo.left, Math.max(right, 0)],
    [0, 0],
  ];
  const dW = tf.conv2d(xT, dyT, 1, padding, 'NHWC', [strideHeight, strideWidth]); // [Ci, fh, fw, Co]
  return tf.transpose(dW, [1, 2, 0, 3]); // [fh, fw, Ci, Co]
}

/** The kernel function registered as `Conv2DBackpropFilter` on `'wasm'`. */
export const conv2dBackpropFilter: tf.KernelFunc = (params) => {
  const { inputs, backend, attrs } = kernelArgs<'x' | 'dy', tf.Conv2DBackpropFilterAttrs>(
    'Conv2DBackpropFilter',
    params,
    ['x', 'dy'],
  );
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat === 'NCHW') {
    throw new SculptError(
      'Conv2DBackpropFilter (wasm)',
      "expected dataFormat 'NHWC' (the wasm backend convolves channels-last only)",
      "got 'NCHW'",
      "transpose to NHWC, or use dataFormat 'NHWC'",
    );
  }
  const xShape = inputs.x.shape as [number, number, number, number];
  const convInfo = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [, outHeight, outWidth] = inputs.dy.shape;
  if (convInfo.outHeight !== outHeight || convInfo.outWidth !== outWidth) {
    throw new SculptError(
      'Conv2DBackpropFilter (wasm)',
      `expected dy of spatial size ${convInfo.outHeight}×${convInfo.outWidth} for x ${formatShape(xShape)}`,
      `got dy ${formatShape(inputs.dy.shape)}`,
      'pass the dy of the convolution with these strides and padding',
    );
  }
  return computeAsKernel(backend, () =>
    backpropFilter(
      asTensor(inputs.x, backend) as tf.Tensor4D,
      asTensor(inputs.dy, backend) as tf.Tensor4D,
      convInfo,
    ),
  );
};
