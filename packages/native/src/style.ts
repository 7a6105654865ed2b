/**
 * The fused StyleGAN epilogue kernels for backend `'wasm'`
 * (`FUSED_KERNELS.styleEpilogue` and `FUSED_KERNELS.styleEpilogueGrad` of
 * @sculpt/core).
 *
 * `SculptStyleEpilogue`: after a styled layer's convolution y [B, H, W, C],
 * out = leakyRelu(y·demod + noise·strength + bias, alpha)·gain in one pass over
 * memory, in place of six kernel calls (demodulation, noise scale, noise add,
 * bias add, leaky ReLU, gain) and their full-size intermediates.
 *
 * `SculptStyleEpilogueGrad`: its gradient from the forward output in one pass,
 * outputs `[dy, ddemod, dbias, dstrength?]`, in place of ~12 kernel calls
 * (the leaky ReLU's Greater/Select, the broadcast sums of every operand).
 *
 * `SculptModulateGrad`: the gradient of the modulation x·s before a styled
 * conv, `[dx, dstyles]` in one pass, in place of two Multiply kernels and a Sum.
 *
 * `SculptDemodulate` / `SculptDemodulateGrad`: the demodulation factors
 * d [B, Cout] from the styles and the filter, and their gradient, one call
 * each way in place of ~7 small kernels forward and ~15 backward.
 */
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

/** The attrs of both kernels. */
interface StyleAttrs {
  alpha: number;
  gain: number;
}

type Inputs = Record<string, tf.TensorInfo | undefined>;

const same = (t: tf.TensorInfo | undefined, shape: number[]) =>
  t !== undefined && tf.util.arraysEqual(t.shape, shape);

/** [B, H·W, C] of `y`, or a SculptError naming what arrived. */
function styleDims(where: string, inputs: Inputs, withNoise: boolean): Int32Array {
  const { y, demod, bias, noise } = inputs;
  const [b, h, w, c] = y?.shape ?? [];
  const ok =
    y !== undefined &&
    y.shape.length === 4 &&
    b * h * w * c > 0 &&
    Object.values(inputs).every((t) => t === undefined || t.dtype === 'float32') &&
    same(demod, [b, c]) &&
    (bias === undefined || same(bias, [c])) &&
    (!withNoise || same(noise, [b, h, w, 1]));
  if (!ok) {
    const got = Object.entries(inputs).map(
      ([k, t]) => `${k} ${t ? `${t.dtype} [${t.shape}]` : 'none'}`,
    );
    throw new SculptError(
      where,
      'expected float32 y [B, H, W, C] (not empty), demod [B, C], bias [C], noise [B, H, W, 1] with strength [1] (or neither)',
      `got ${got.join(', ')}`,
      'use the tfjs ops for this case (the styled layers of @sculpt/gan pick them themselves)',
    );
  }
  return Int32Array.of(b, h * w, c);
}

/**
 * The styled layer's epilogue kernel; throws a SculptError for inputs it does not take (the caller checks first).
 * @example
 * ```ts
 * const out = tf.engine().runKernel('SculptStyleEpilogue', { y, demod, bias, noise, strength }, { alpha: 0.2, gain: Math.SQRT2 });
 * ```
 */
export function makeStyleEpilogue(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(6); // reused: one call at a time on the JS thread
  return (params) => {
    const { y, demod, bias, noise, strength } = params.inputs as Inputs;
    const { alpha, gain } = params.attrs as unknown as StyleAttrs;
    const withNoise = noise !== undefined || strength !== undefined;
    const inputs = { y, demod, bias, noise, strength };
    const dims = styleDims(FUSED_KERNELS.styleEpilogue, inputs, withNoise);
    if (bias === undefined || (withNoise && !same(strength, [1]))) {
      throw new SculptError(
        FUSED_KERNELS.styleEpilogue,
        'expected bias [C] and, with noise, strength [1]',
        `got bias [${bias?.shape ?? 'none'}], strength [${strength?.shape ?? 'none'}]`,
        'pass the layer bias, and the noise strength beside the noise',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...(y as tf.TensorInfo).shape], 'float32');
    const at = (t: tf.TensorInfo | undefined) => (t ? offsetOf(backend, t) : -1);
    offsets.set([at(y), at(demod), at(noise), at(strength), at(bias), at(out)]);
    addon.styleEpilogue(heapOf(backend), offsets, dims, alpha, gain); // heap after the output
    return out;
  };
}

/**
 * The gradient kernel of {@link makeStyleEpilogue}; throws a SculptError for inputs it does not take.
 * @example
 * ```ts
 * const [dy, ddemod, dbias, dstrength] = tf.engine().runKernel('SculptStyleEpilogueGrad', { dout, out, y, demod, noise }, { alpha: 0.2, gain: Math.SQRT2 }) as tf.Tensor[];
 * ```
 */
export function makeStyleEpilogueGrad(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(9); // reused: one call at a time on the JS thread
  return (params) => {
    const { dout, out, y, demod, noise } = params.inputs as Inputs;
    const { alpha, gain } = params.attrs as unknown as StyleAttrs;
    const inputs = { y, demod, noise, dout, out };
    const dims = styleDims(FUSED_KERNELS.styleEpilogueGrad, inputs, noise !== undefined);
    const shape = [...(y as tf.TensorInfo).shape];
    if (!same(dout, shape) || !same(out, shape)) {
      throw new SculptError(
        FUSED_KERNELS.styleEpilogueGrad,
        `expected dout and out shaped like y [${shape}]`,
        `got dout [${dout?.shape}], out [${out?.shape}]`,
        'pass the upstream gradient and the output SculptStyleEpilogue returned for this y',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const outputs = [
      backend.makeOutput(shape, 'float32'),
      backend.makeOutput([shape[0], shape[3]], 'float32'),
      backend.makeOutput([shape[3]], 'float32'),
    ];
    if (noise) outputs.push(backend.makeOutput([1], 'float32'));
    const at = (t: tf.TensorInfo | undefined) => (t ? offsetOf(backend, t) : -1);
    const [dy, ddemod, dbias, dstrength] = outputs;
    offsets.set([at(dout), at(out), at(y), at(demod), at(noise), at(dy), at(ddemod)]);
    offsets.set([at(dstrength), at(dbias)], 7);
    addon.styleEpilogueGrad(heapOf(backend), offsets, dims, alpha, gain); // heap after the outputs
    return outputs;
  };
}

/**
 * The modulation's gradient kernel; throws a SculptError for inputs it does not take (the caller checks first).
 * @example
 * ```ts
 * const [dx, dstyles] = tf.engine().runKernel('SculptModulateGrad', { dy, x, styles }) as tf.Tensor[];
 * ```
 */
export function makeModulateGrad(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(5); // reused: one call at a time on the JS thread
  return (params) => {
    const { dy, x, styles } = params.inputs as Inputs;
    const shape = [...(x?.shape ?? [])];
    const ok =
      shape.length === 4 &&
      shape.every((n) => n > 0) &&
      [dy, x, styles].every((t) => t?.dtype === 'float32') &&
      same(dy, shape) &&
      same(styles, [shape[0], shape[3]]);
    if (!ok) {
      throw new SculptError(
        FUSED_KERNELS.modulateGrad,
        'expected float32 dy and x [B, H, W, C] (not empty) and styles [B, C]',
        `got dy [${dy?.shape}], x [${x?.shape}], styles [${styles?.shape}]`,
        'use the tfjs ops for this case',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const outputs = [shape, [shape[0], shape[3]]].map((s) => backend.makeOutput(s, 'float32'));
    [dy, x, styles, ...outputs].forEach((t, i) => {
      offsets[i] = offsetOf(backend, t as tf.TensorInfo);
    });
    const dims = Int32Array.of(shape[0], shape[1] * shape[2], shape[3]);
    addon.modulateGrad(heapOf(backend), offsets, dims); // heap after the outputs
    return outputs;
  };
}

/** [B, Cin, Cout, kh·kw] of the demodulation's styles and filter, or a SculptError. */
function demodDims(where: string, inputs: Inputs): Int32Array {
  const { styles, filter } = inputs;
  const [kh, kw, cin, cout] = filter?.shape ?? [];
  const b = styles?.shape[0] ?? 0;
  const ok =
    filter?.shape.length === 4 &&
    kh * kw * cin * cout * b > 0 &&
    Object.values(inputs).every((t) => t?.dtype === 'float32') &&
    same(styles, [b, cin]) &&
    Object.entries(inputs).every(
      ([k, t]) => k === 'styles' || k === 'filter' || same(t, [b, cout]),
    );
  if (!ok) {
    const got = Object.entries(inputs).map(
      ([k, t]) => `${k} ${t ? `${t.dtype} [${t.shape}]` : 'none'}`,
    );
    throw new SculptError(
      where,
      'expected float32 styles [B, Cin], filter [kh, kw, Cin, Cout] (not empty) and, for the gradient, dd and d [B, Cout]',
      `got ${got.join(', ')}`,
      'use the tfjs ops for this case',
    );
  }
  return Int32Array.of(b, cin, cout, kh * kw);
}

/**
 * The demodulation kernel; throws a SculptError for inputs it does not take (the caller checks first).
 * @example
 * ```ts
 * const d = tf.engine().runKernel('SculptDemodulate', { styles, filter }, { epsilon: 1e-8 }) as tf.Tensor2D;
 * ```
 */
export function makeDemodulate(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(3); // reused: one call at a time on the JS thread
  return (params) => {
    const { styles, filter } = params.inputs as Inputs;
    const { epsilon } = params.attrs as unknown as { epsilon: number };
    const dims = demodDims(FUSED_KERNELS.demodulate, { styles, filter });
    const backend = params.backend as unknown as WasmBackendInternals;
    const d = backend.makeOutput([dims[0], dims[2]], 'float32');
    [styles, filter, d].forEach((t, i) => {
      offsets[i] = offsetOf(backend, t as tf.TensorInfo);
    });
    addon.demodulate(heapOf(backend), offsets, dims, epsilon); // heap after the output
    return d;
  };
}

/**
 * The demodulation's gradient kernel; throws a SculptError for inputs it does not take.
 * @example
 * ```ts
 * const [dstyles, dfilter] = tf.engine().runKernel('SculptDemodulateGrad', { dd, styles, filter, d }) as tf.Tensor[];
 * ```
 */
export function makeDemodulateGrad(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(6); // reused: one call at a time on the JS thread
  return (params) => {
    const { dd, styles, filter, d } = params.inputs as Inputs;
    const dims = demodDims(FUSED_KERNELS.demodulateGrad, { styles, filter, dd, d });
    const backend = params.backend as unknown as WasmBackendInternals;
    const outputs = [
      backend.makeOutput([...(styles as tf.TensorInfo).shape], 'float32'),
      backend.makeOutput([...(filter as tf.TensorInfo).shape], 'float32'),
    ];
    [dd, styles, filter, d, ...outputs].forEach((t, i) => {
      offsets[i] = offsetOf(backend, t as tf.TensorInfo);
    });
    addon.demodulateGrad(heapOf(backend), offsets, dims); // heap after the outputs
    return outputs;
  };
}
