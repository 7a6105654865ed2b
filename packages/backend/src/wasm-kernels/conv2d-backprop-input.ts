/**
 * `Conv2DBackpropInput` for the wasm backend, computed with forward (XNNPACK)
 * convolutions. The shipped kernel is 7–12× slower than a forward conv, and it
 * is both the input gradient of every conv and the forward pass of
 * `conv2dTranspose` (every GAN generator and U-Net decoder).
 *
 * Sub-pixel decomposition (one spatial axis shown; stride s, top padding p,
 * filter height f, dy height Ho, input height H):
 *
 *   dx[y] = Σ_{i : (y + p − i) ≡ 0 mod s} dy[(y + p − i) / s] · W[i]ᵀ
 *
 * Split the output rows by phase r = y mod s, y = a·s + r. Only the taps
 * i = c + s·k with c = (r + p) mod s contribute, K = ⌈(f − c)/s⌉ of them, and
 * with e = ⌊(r + p)/s⌋
 *
 *   dx_r[a] = Σ_k dy[a + e − k] · W[c + s·k]ᵀ
 *
 * — a stride-1 correlation of dy with the flipped sub-filter
 * W_r[k'] = W[c + s·(K − 1 − k')] and top padding K − 1 − e. The s² phases
 * (rows × columns) are interleaved by concatenation (sub-pixel.ts). With
 * s = 1 this is the usual "convolve with the flipped filter".
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, computeAsKernel, kernelArgs } from './as-kernel.js';
import { geometryOf, type PhasePlan, subPixelBackprop } from './sub-pixel.js';

/**
 * The sub-filters of every phase, [K_r, K_q, Co, Ci] each, built on the host:
 * W_rq[k, l, co, ci] = W[c_r + s·(K_r − 1 − k), c_q + s·(K_q − 1 − l), ci, co].
 * The filter is small (fh·fw·Ci·Co) and already lives in wasm memory, so
 * reading it back is a copy, not a device sync; wasm's Reverse, Gather and
 * StridedSlice kernels are 10–30× slower than this loop.
 */
function phaseFilterValues(
  w: Float32Array,
  filterShape: number[],
  rows: PhasePlan,
  cols: PhasePlan,
  stride: number,
): Float32Array {
  const [, filterWidth, inChannels, outChannels] = filterShape;
  const out = new Float32Array(rows.taps * cols.taps * outChannels * inChannels);
  let o = 0;
  for (let k = 0; k < rows.taps; k++) {
    const row = rows.firstTap + stride * (rows.taps - 1 - k);
    for (let l = 0; l < cols.taps; l++) {
      const col = cols.firstTap + stride * (cols.taps - 1 - l);
      const tap = (row * filterWidth + col) * inChannels * outChannels;
      for (let co = 0; co < outChannels; co++) {
        for (let ci = 0; ci < inChannels; ci++) out[o++] = w[tap + ci * outChannels + co];
      }
    }
  }
  return out;
}

/** dx for NHWC dy [N, Ho, Wo, Co] and filter values [fh, fw, Ci, Co] (see the top of this file). */
function backpropInput(
  dy: tf.Tensor4D,
  filter: Float32Array,
  convInfo: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { inChannels, outChannels, filterHeight, filterWidth, strideHeight: stride } = convInfo;
  const filterShape = [filterHeight, filterWidth, inChannels, outChannels];
  return subPixelBackprop(dy, geometryOf(convInfo), (cropped, rows, cols, padding) => {
    const values = phaseFilterValues(filter, filterShape, rows, cols, stride);
    const subFilter = tf.tensor4d(values, [rows.taps, cols.taps, outChannels, inChannels]);
    return tf.conv2d(cropped, subFilter, 1, padding); // [N, ⌈H/s⌉, ⌈W/s⌉, Ci]
  });
}

/**
 * Builds the kernel function registered as `Conv2DBackpropInput` on `'wasm'`.
 * `original` (the shipped kernel) still serves what the decomposition does not
 * cover: NCHW data and unequal row/column strides.
 */
export function makeConv2dBackpropInput(original: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { inputs, backend, attrs } = kernelArgs<'dy' | 'filter', tf.Conv2DBackpropInputAttrs>(
      'Conv2DBackpropInput',
      params,
      ['dy', 'filter'],
    );
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    const filterShape = inputs.filter.shape as [number, number, number, number];
    const convInfo = tf.backend_util.computeConv2DInfo(
      inputShape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (dataFormat === 'NCHW' || convInfo.strideHeight !== convInfo.strideWidth)
      return original(params);
    if (inputs.filter.dtype !== 'float32' || inputs.dy.dtype !== 'float32') return original(params);
    const filter = backend.readSync(inputs.filter.dataId) as Float32Array;
    return computeAsKernel(backend, () =>
      backpropInput(asTensor(inputs.dy, backend) as tf.Tensor4D, filter, convInfo),
    );
  };
}
