/**
 * `DepthwiseConv2dNativeBackpropInput` and `DepthwiseConv2dNativeBackpropFilter`
 * for the wasm backend, which ships neither (so `tf.depthwiseConv2d`,
 * `tf.separableConv2d` and their layers cannot train there). Both are built
 * from the forward depthwise (XNNPACK) convolution.
 *
 * Notation (NHWC): x [N, H, W, C], filter W [fh, fw, C, M] (channel
 * multiplier M), dy [N, Ho, Wo, C·M] with output channel c·M + m.
 *
 * dx: channel c of dx gathers the M output channels it fed,
 *   dx[c] = Σ_m corrᵀ(dy[c·M + m], W[:, :, c, m]),
 * i.e. a depthwise transposed convolution of dy (C·M channels, multiplier 1)
 * by the flipped filter, summed over m: the same sub-pixel decomposition as
 * Conv2DBackpropInput (sub-pixel.ts), with depthwise phase convolutions.
 *
 * dW: dW[i, j, c, m] = Σ_{n, y, x} x[n, y·s + i − p, ·, c] · dy[n, y, ·, c·M + m].
 * Put the batch into the channels, x'[0, h, w, c·N + n] = x[n, h, w, c], and
 * make dy the depthwise filter dy'[y, x, c·N + n, m] = dy[n, y, x, c·M + m]:
 * a stride-1 depthwise convolution of x' by dy' with dilation s gives
 * [1, fh, fw, (c·N + n)·M + m]; summing over n leaves dW.
 */

import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, computeAsKernel, kernelArgs } from './as-kernel.js';
import { geometryOf, type PhasePlan, subPixelBackprop } from './sub-pixel.js';

type Shape4 = [number, number, number, number];

/** Rejects what tfjs's depthwise gradient does not define either (dilation > 1, NCHW, unequal strides). */
function checkSupported(
  kernelName: string,
  convInfo: tf.backend_util.Conv2DInfo,
  dataFormat: string,
): void {
  if (convInfo.dilationHeight !== 1 || convInfo.dilationWidth !== 1) {
    throw new SculptError(
      `${kernelName} (wasm)`,
      'expected dilations of 1',
      `got ${convInfo.dilationHeight}×${convInfo.dilationWidth}`,
      'use dilation 1 when training',
    );
  }
  if (dataFormat === 'NCHW' || convInfo.strideHeight !== convInfo.strideWidth) {
    throw new SculptError(
      `${kernelName} (wasm)`,
      'expected NHWC data and equal row/column strides',
      `got ${dataFormat}, strides ${convInfo.strideHeight}×${convInfo.strideWidth}`,
      'use NHWC and square strides',
    );
  }
}

/**
 * Sub-filter of one phase as a depthwise filter [K_r, K_q, C·M, 1]:
 * taps W[c_r + s·(K_r − 1 − k), c_q + s·(K_q − 1 − l), :, :] (flipped), built
 * on the host from the (small) filter values.
 */
function phaseFilter(
  w: Float32Array,
  filterShape: Shape4,
  rows: PhasePlan,
  cols: PhasePlan,
  stride: number,
): tf.Tensor4D {
  const [, filterWidth, channels, multiplier] = filterShape;
  const tapSize = channels * multiplier;
  const out = new Float32Array(rows.taps * cols.taps * tapSize);
  let o = 0;
  for (let k = 0; k < rows.taps; k++) {
    const row = rows.firstTap + stride * (rows.taps - 1 - k);
    for (let l = 0; l < cols.taps; l++) {
      const col = cols.firstTap + stride * (cols.taps - 1 - l);
      const tap = (row * filterWidth + col) * tapSize;
      out.set(w.subarray(tap, tap + tapSize), o);
      o += tapSize;
    }
  }
  return tf.tensor4d(out, [rows.taps, cols.taps, tapSize, 1]);
}

/** The kernel function registered as `DepthwiseConv2dNativeBackpropInput` on `'wasm'`. */
export const depthwiseBackpropInput: tf.KernelFunc = (params) => {
  const name = 'DepthwiseConv2dNativeBackpropInput';
  const { inputs, backend, attrs } = kernelArgs<
    'dy' | 'filter',
    tf.DepthwiseConv2dNativeBackpropInputAttrs
  >(name, params, ['dy', 'filter']);
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const filterShape = inputs.filter.shape as Shape4;
  const convInfo = tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  checkSupported(name, convInfo, 'NHWC');
  const filter = backend.readSync(inputs.filter.dataId) as Float32Array;
  const [, , channels, multiplier] = filterShape;
  const geometry = { ...geometryOf(convInfo), channels: channels * multiplier };
  return computeAsKernel(backend, () => {
    const dy = asTensor(inputs.dy, backend) as tf.Tensor4D;
    const dxPerOutput = subPixelBackprop(dy, geometry, (cropped, rows, cols, padding) =>
      tf.depthwiseConv2d(
        cropped,
        phaseFilter(filter, filterShape, rows, cols, geometry.stride),
        1,
        padding,
      ),
    ); // [N, H, W, C·M]
    if (multiplier === 1) return dxPerOutput;
    const [batch, height, width] = dxPerOutput.shape;
    return tf.sum(tf.reshape(dxPerOutput, [batch, height, width, channels, multiplier]), 4);
  });
};

/** dW [fh, fw, C, M] (see the top of this file). */
function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  convInfo: tf.backend_util.Conv2DInfo,
  multiplier: number,
): tf.Tensor {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = convInfo;
  const [batch, height, width, channels] = x.shape;
  const [, outHeight, outWidth] = dy.shape;
  const bottom = filterHeight + (outHeight - 1) * strideHeight - padInfo.top - height;
  const right = filterWidth + (outWidth - 1) * strideWidth - padInfo.left - width;
  const cropped =
    bottom < 0 || right < 0
      ? tf.slice(
          x,
          [0, 0, 0, 0],
          [-1, height + Math.min(bottom, 0), width + Math.min(right, 0), -1],
        )
      : x;
  const [, croppedHeight, croppedWidth] = cropped.shape;
  const xT = tf.reshape(tf.transpose(cropped, [1, 2, 3, 0]), [
    1,
    croppedHeight,
    croppedWidth,
    channels * batch,
  ]);
  const dyT = tf.reshape(
    tf.transpose(
      tf.reshape(dy, [batch, outHeight, outWidth, channels, multiplier]),
      [1, 2, 3, 0, 4],
    ),
    [outHeight, outWidth, channels * batch, multiplier],
  ) as tf.Tensor4D;
  const padding: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [padInfo.top, Math.max(bottom, 0)],
    [padInfo.left, Math.max(right, 0)],
    [0, 0],
  ];
  const perSample = tf.depthwiseConv2d(xT as tf.Tensor4D, dyT, 1, padding, 'NHWC', [
    strideHeight,
    strideWidth,
  ]);
  return tf.sum(tf.reshape(perSample, [filterHeight, filterWidth, channels, batch, multiplier]), 3);
}

/** The kernel function registered as `DepthwiseConv2dNativeBackpropFilter` on `'wasm'`. */
export const depthwiseBackpropFilter: tf.KernelFunc = (params) => {
  const name = 'DepthwiseConv2dNativeBackpropFilter';
  const { inputs, backend, attrs } = kernelArgs<
    'x' | 'dy',
    tf.DepthwiseConv2dNativeBackpropFilterAttrs
  >(name, params, ['x', 'dy']);
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const xShape = inputs.x.shape as Shape4;
  const convInfo = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  checkSupported(name, convInfo, 'NHWC');
  return computeAsKernel(backend, () =>
    backpropFilter(
      asTensor(inputs.x, backend) as tf.Tensor4D,
      asTensor(inputs.dy, backend) as tf.Tensor4D,
      convInfo,
      filterShape[3],
    ),
  );
};
