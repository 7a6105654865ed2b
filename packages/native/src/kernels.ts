/**
 * tfjs kernels for backend `'wasm'` that hand the work to the native addon:
 * `BatchMatMul`, `_FusedMatMul`, `Conv2D`, `FusedConv2D`,
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` (OpenBLAS sgemm; direct
 * loops over the filter taps when the conv has one output channel, or one
 * input channel and few outputs; direct AVX-512/AVX2 loops when it has 8k
 * output channels up to 128), and the
 * memory-bound `Add`, `Sub`, `Multiply`, `RealDiv` (any broadcast), `Sqrt`,
 * `Rsqrt`, `Square`, `Neg`, `Abs`, `Relu`, `LeakyRelu`, `Exp`, `Sigmoid`, `Tanh`, `Softplus`,
 * `Sum`, `Mean`, and the copies
 * `SplitV`, `Concat`, `Unpack` and `GatherV2`, split across the addon's threads.
 *
 * The tensors stay where the wasm backend keeps them, in the WebAssembly
 * memory: a kernel allocates its output there (`makeOutput`), views the whole
 * memory as one Float32Array and passes float offsets to the addon, which
 * reads the inputs and writes the output in place. No copies, no new tfjs
 * tensors, no sync. Cases the addon does not cover (non-float32 dtypes, NCHW,
 * empty tensors, unusual bias broadcasts) go to the kernel that was
 * registered before.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

export const BACKEND = 'wasm';

/** The parts of tfjs-backend-wasm's `BackendWasm` the kernels use. */
export interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

type KernelParams = Parameters<tf.KernelFunc>[0];

let heapCache: Float32Array | undefined;

/** The whole wasm memory as floats; re-made when the memory has grown. */
export function heapOf(backend: WasmBackendInternals): Float32Array {
  const buffer = backend.wasm.HEAPU8.buffer;
  if (heapCache?.buffer !== buffer) heapCache = new Float32Array(buffer);
  return heapCache;
}

export function offsetOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error(`tensor ${String(t.dataId)} is not on the wasm backend`);
  return data.memoryOffset / 4;
}

const { sizeFromShape: size, arraysEqual } = tf.util;
const isFloat = (...ts: (tf.TensorInfo | undefined)[]) =>
  ts.every((t) => t === undefined || t.dtype === 'float32');

const ACTIVATIONS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  leakyrelu: 4,
  prelu: 5,
  sigmoid: 6,
};

/** A per-channel operand (bias, prelu weights) the addon broadcasts: `[n]`-like or a scalar. */
function channelOperand(t: tf.TensorInfo | undefined, n: number): boolean {
  if (t === undefined) return true;
  const len = size(t.shape);
  if (len === 1) return true;
  return len === n && t.shape.at(-1) === n;
}

interface Epilogue {
  bias?: tf.TensorInfo;
  prelu?: tf.TensorInfo;
  activation: string;
  alpha: number;
}

/** Whether the fused bias/activation of a kernel call is one the addon applies. */
function epilogueSupported(e: Epilogue, n: number): boolean {
  return (
    e.activation in ACTIVATIONS &&
    isFloat(e.bias, e.prelu) &&
    channelOperand(e.bias, n) &&
    channelOperand(e.prelu, n) &&
    (e.activation !== 'prelu' || e.prelu !== undefined)
  );
}

function applyEpilogue(
  addon: NativeAddon,
  backend: WasmBackendInternals,
  heap: Float32Array,
  out: tf.TensorInfo,
  rows: number,
  cols: number,
  e: Epilogue,
): void {
  const act = ACTIVATIONS[e.activation] ?? 0;
  if (e.bias === undefined && act === 0) return;
  addon.epilogue(
    heap,
    offsetOf(backend, out),
    rows,
    cols,
    e.bias ? offsetOf(backend, e.bias) : -1,
    e.bias ? size(e.bias.shape) : 0,
    act,
    e.alpha,
    e.prelu ? offsetOf(backend, e.prelu) : -1,
    e.prelu ? size(e.prelu.shape) : 0,
  );
}

/** The fused bias and activation of a `_Fused*` kernel call; none for the plain kernels. */
function epilogueOf(params: KernelParams, fused: boolean): Epilogue {
  if (!fused) return { activation: 'linear', alpha: 0 };
  const attrs = (params.attrs ?? {}) as { activation?: string; leakyreluAlpha?: number };
  return {
    bias: params.inputs.bias as tf.TensorInfo | undefined,
    prelu: params.inputs.preluActivationWeights as tf.TensorInfo | undefined,
    activation: attrs.activation ?? 'linear',
    alpha: attrs.leakyreluAlpha ?? 0.2,
  };
}

/** `BatchMatMul` and `_FusedMatMul` through sgemm. */
export function makeMatMul(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
  fused: boolean,
): tf.KernelFunc {
  return (params) => {
    const a = params.inputs.a as tf.TensorInfo;
    const b = params.inputs.b as tf.TensorInfo;
    const { transposeA = false, transposeB = false } = (params.attrs ?? {}) as {
      transposeA?: boolean;
      transposeB?: boolean;
    };
    if (!isFloat(a, b) || a.shape.length < 2 || b.shape.length < 2) return fallback(params);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = size(outerA);
    const batchB = size(outerB);
    const broadcastable = arraysEqual(outerA, outerB) || batchA === 1 || batchB === 1;
    if (k !== kb || !broadcastable || m * n * k === 0) return fallback(params); // tfjs raises
    const e = epilogueOf(params, fused);
    if (!epilogueSupported(e, n)) return fallback(params);

    const backend = params.backend as unknown as WasmBackendInternals;
    let outerShape: number[];
    try {
      outerShape = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    } catch {
      return fallback(params); // tfjs raises its own shape error
    }
    const out = backend.makeOutput([...outerShape, m, n], 'float32');
    const heap = heapOf(backend); // after makeOutput: it may grow the memory
    const [aOff, bOff, cOff] = [offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out)];
    const batch = Math.max(batchA, batchB);
    if (batchB === 1 && batch > 1 && !transposeA) {
      // A dense layer on a rank-3 input: one [batch·m, k] × [k, n] product.
      addon.gemm(heap, false, transposeB, batch * m, n, k, aOff, bOff, cOff, 0, 1, 0, 0, 0);
    } else {
      addon.gemm(
        heap,
        transposeA,
        transposeB,
        m,
        n,
        k,
        aOff,
        bOff,
        cOff,
        0,
        batch,
        batchA === 1 ? 0 : m * k,
        batchB === 1 ? 0 : k * n,
        m * n,
      );
    }
    applyEpilogue(addon, backend, heap, out, batch * m, n, e);
    return out;
  };
}

type ConvInfo = tf.backend_util.Conv2DInfo;

export function convDims(info: ConvInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.outHeight,
    info.outWidth,
  ]);
}

export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

export function convInfoOf(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  dilations: number | [number, number],
): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** `Conv2D` and `FusedConv2D`: im2col + sgemm (+ bias and activation). */
export function makeConv2D(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
  fused: boolean,
): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const filter = params.inputs.filter as tf.TensorInfo;
    const attrs = params.attrs as unknown as ConvAttrs;
    if (!isFloat(x, filter) || (attrs.dataFormat ?? 'NHWC') !== 'NHWC' || size(x.shape) === 0)
      return fallback(params);
    const info = convInfoOf(x.shape, filter.shape, attrs, attrs.dilations ?? 1);
    const e = epilogueOf(params, fused);
    if (!epilogueSupported(e, info.outChannels) || size(info.outShape) === 0)
      return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(info.outShape, 'float32');
    const heap = heapOf(backend);
    addon.conv2d(
      heap,
      offsetOf(backend, x),
      offsetOf(backend, filter),
      offsetOf(backend, out),
      convDims(info),
    );
    const rows = info.batchSize * info.outHeight * info.outWidth;
    applyEpilogue(addon, backend, heap, out, rows, info.outChannels, e);
    return out;
  };
}

/** `Conv2DBackpropInput` (conv input gradients, and `conv2dTranspose`): sgemm + col2im. */
export function makeConv2DBackpropInput(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return (params) => {
    const dy = params.inputs.dy as tf.TensorInfo;
    const filter = params.inputs.filter as tf.TensorInfo;
    const attrs = params.attrs as unknown as ConvAttrs;
    const inputShape = attrs.inputShape;
    if (
      !isFloat(dy, filter) ||
      (attrs.dataFormat ?? 'NHWC') !== 'NHWC' ||
      inputShape === undefined ||
      size(inputShape) === 0 ||
      size(dy.shape) === 0
    )
      return fallback(params);
    const info = convInfoOf(inputShape, filter.shape, attrs, 1);
    if (!arraysEqual(info.outShape, dy.shape)) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...inputShape], 'float32');
    addon.conv2dBackpropInput(
      heapOf(backend),
      offsetOf(backend, dy),
      offsetOf(backend, filter),
      offsetOf(backend, out),
      convDims(info),
    );
    return out;
  };
}

/** `Conv2DBackpropFilter` (conv filter gradients): im2col + sgemm. */
export function makeConv2DBackpropFilter(
  addon: NativeAddon,
  fallback: tf.KernelFunc | undefined,
): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const dy = params.inputs.dy as tf.TensorInfo;
    const attrs = params.attrs as unknown as ConvAttrs;
    const filterShape = attrs.filterShape;
    const supported =
      isFloat(x, dy) &&
      (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
      filterShape !== undefined &&
      size(filterShape) > 0 &&
      size(x.shape) > 0;
    const info = supported ? convInfoOf(x.shape, filterShape, attrs, 1) : undefined;
    if (info === undefined || !arraysEqual(info.outShape, dy.shape)) {
      if (fallback) return fallback(params);
      throw new Error(
        `Conv2DBackpropFilter (native): expected float32 NHWC tensors with dy of the conv's output shape, got x ${x.dtype} [${x.shape}], dy ${dy.dtype} [${dy.shape}]`,
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...(filterShape as number[])], 'float32');
    addon.conv2dBackpropFilter(
      heapOf(backend),
      offsetOf(backend, x),
      offsetOf(backend, dy),
      offsetOf(backend, out),
      convDims(info),
    );
    return out;
  };
}

/** Below this many output elements the shipped wasm kernel is as fast (no call into the addon). */
export const ELEMENTWISE_MIN = 4096;

const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 };

/** Float strides of `shape` read as `outShape` (right-aligned): 0 on broadcast dims. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const strides = new Int32Array(rank);
  let stride = 1;
  for (let d = rank - 1, s = shape.length - 1; d >= 0; d--, s--) {
    const n = s >= 0 ? shape[s] : 1;
    strides[d] = n === 1 ? 0 : stride;
    stride *= n;
  }
  return strides;
}

/** `Add`, `Sub`, `Multiply`, `RealDiv` on float32 with any broadcast. */
export function makeBinary(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
  kernelName: string,
): tf.KernelFunc {
  const op = BINARY_OPS[kernelName];
  return (params) => {
    const a = params.inputs.a as tf.TensorInfo;
    const b = params.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(params);
    let outShape: number[];
    try {
      outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return fallback(params); // tfjs raises its own shape error
    }
    const n = size(outShape);
    if (n < ELEMENTWISE_MIN || outShape.length > 8) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(outShape, 'float32');
    addon.binary(
      heapOf(backend),
      op,
      offsetOf(backend, a),
      offsetOf(backend, b),
      offsetOf(backend, out),
      Int32Array.from(outShape),
      broadcastStrides(a.shape, outShape),
      broadcastStrides(b.shape, outShape),
    );
    return out;
  };
}

/** `SplitV` (the gradient of `concat`, `tf.split`) on float32: one block copy per output. */
export function makeSplitV(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const attrs = params.attrs as unknown as tf.SplitVAttrs;
    if (x.dtype !== 'float32' || size(x.shape) < ELEMENTWISE_MIN) return fallback(params);
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
    const outer = size(x.shape.slice(0, axis));
    const inner = size(x.shape.slice(axis + 1));
    const srcRow = x.shape[axis] * inner;
    const backend = params.backend as unknown as WasmBackendInternals;
    const xOff = offsetOf(backend, x);
    let at = 0;
    return sizes.map((s) => {
      const shape = [...x.shape];
      shape[axis] = s;
      const out = backend.makeOutput(shape, 'float32');
      if (s > 0) {
        addon.copyBlocks(
          heapOf(backend),
          xOff + at * inner,
          srcRow,
          offsetOf(backend, out),
          s * inner,
          outer,
          s * inner,
        );
      }
      at += s;
      return out;
    });
  };
}

/** `Concat` on float32: one block copy per input. */
export function makeConcat(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const inputs = (params.inputs as unknown as tf.TensorInfo[]).filter((t) => size(t.shape) > 0);
    const attrs = params.attrs as unknown as tf.ConcatAttrs;
    if (inputs.length < 2 || inputs.some((t) => t.dtype !== 'float32')) return fallback(params);
    const axis = tf.util.parseAxisParam(attrs.axis, inputs[0].shape)[0];
    let outShape: number[];
    try {
      tf.backend_util.assertParamsConsistent(
        inputs.map((t) => t.shape),
        axis,
      );
      outShape = tf.backend_util.computeOutShape(
        inputs.map((t) => t.shape),
        axis,
      );
    } catch {
      return fallback(params);
    }
    if (size(outShape) < ELEMENTWISE_MIN) return fallback(params);
    const outer = size(outShape.slice(0, axis));
    const inner = size(outShape.slice(axis + 1));
    const dstRow = outShape[axis] * inner;
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(outShape, 'float32');
    const heap = heapOf(backend);
    const outOff = offsetOf(backend, out);
    let at = 0;
    for (const t of inputs) {
      const width = t.shape[axis] * inner;
      addon.copyBlocks(
        heap,
        offsetOf(backend, t),
        width,
        outOff + at * inner,
        dstRow,
        outer,
        width,
      );
      at += t.shape[axis];
    }
    return out;
  };
}

/**
 * `Sum` and `Mean` on float32 over any axes: each maximal run of adjacent
 * reduced axes is one pass of the addon's reduction (GroupNorm's moments over
 * `[1, 2, 4]` are two passes), last run first so the earlier axes keep their
 * place.
 */
export function makeReduce(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
  mean: boolean,
): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = params.attrs as unknown as tf.SumAttrs;
    if (x.dtype !== 'float32' || size(x.shape) < ELEMENTWISE_MIN) return fallback(params);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0) return fallback(params);
    const runs: [number, number][] = [];
    for (const a of axes) {
      const run = runs.at(-1);
      if (run && run[1] === a - 1) run[1] = a;
      else runs.push([a, a]);
    }
    const backend = params.backend as unknown as WasmBackendInternals & tf.KernelBackend;
    let current = x;
    let shape = [...x.shape];
    for (let i = runs.length - 1; i >= 0; i--) {
      const [first, last] = runs[i];
      const mid = size(shape.slice(first, last + 1));
      const next = shape.map((n, d) => (d >= first && d <= last ? 1 : n));
      const out = backend.makeOutput(next, 'float32');
      addon.reduce(
        heapOf(backend),
        offsetOf(backend, current),
        offsetOf(backend, out),
        size(shape.slice(0, first)),
        mid,
        size(shape.slice(last + 1)),
        mean ? 1 / mid : 1,
      );
      if (current !== x) backend.disposeData(current.dataId);
      current = out;
      shape = next;
    }
    const outShape = keepDims ? shape : x.shape.filter((_, d) => !axes.includes(d));
    return { dataId: current.dataId, shape: outShape, dtype: 'float32' };
  };
}

const UNARY_OPS: Record<string, number> = {
  Sqrt: 0,
  Rsqrt: 1,
  Square: 2,
  Neg: 3,
  Abs: 4,
  Relu: 5,
  Sigmoid: 6,
  Tanh: 7,
  LeakyRelu: 8,
  Softplus: 9,
  Exp: 10,
};

const TRANSCENDENTAL = new Set(['Exp', 'Sigmoid', 'Tanh', 'Softplus']);

/**
 * `Sqrt`, `Rsqrt`, `Square`, `Neg`, `Abs`, `Relu`, `LeakyRelu`, and `Exp`,
 * `Sigmoid`, `Tanh` and `Softplus` through polynomial e^x and ln x (relative
 * error ~2e-7), on float32.
 */
export function makeUnary(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
  kernelName: string,
): tf.KernelFunc {
  const op = UNARY_OPS[kernelName];
  // The transcendental ones at every size: their fallbacks are several wasm kernels
  // (Tanh) or a libm call per element, so even a GPT's one-token activations gain.
  const minSize = TRANSCENDENTAL.has(kernelName) ? 1 : ELEMENTWISE_MIN;
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const n = size(x.shape);
    if (x.dtype !== 'float32' || n < minSize) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...x.shape], 'float32');
    const alpha = (params.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    addon.unary(heapOf(backend), op, offsetOf(backend, x), offsetOf(backend, out), n, alpha);
    return out;
  };
}

/** `Unpack` (`tf.unstack`) on float32: one block copy per output. */
export function makeUnpack(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.value as tf.TensorInfo;
    const { axis } = params.attrs as unknown as tf.UnpackAttrs;
    if (x.dtype !== 'float32' || size(x.shape) < ELEMENTWISE_MIN) return fallback(params);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const outer = size(x.shape.slice(0, ax));
    const inner = size(x.shape.slice(ax + 1));
    const outShape = x.shape.filter((_, d) => d !== ax);
    const backend = params.backend as unknown as WasmBackendInternals;
    const xOff = offsetOf(backend, x);
    return Array.from({ length: x.shape[ax] }, (_, i) => {
      const out = backend.makeOutput(outShape, 'float32');
      addon.copyBlocks(
        heapOf(backend),
        xOff + i * inner,
        x.shape[ax] * inner,
        offsetOf(backend, out),
        inner,
        outer,
        inner,
      );
      return out;
    });
  };
}

/** `GatherV2` (`tf.gather`, embeddings) on float32 with int32 indices and no batch dims. */
export function makeGatherV2(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const indices = params.inputs.indices as tf.TensorInfo;
    const { axis, batchDims = 0 } = params.attrs as unknown as tf.GatherV2Attrs;
    const count = size(indices.shape);
    if (x.dtype !== 'float32' || indices.dtype !== 'int32' || batchDims !== 0 || count === 0)
      return fallback(params);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const outer = size(x.shape.slice(0, ax));
    const inner = size(x.shape.slice(ax + 1));
    if (outer * count * inner < ELEMENTWISE_MIN) return fallback(params);
    const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    const backend = params.backend as unknown as WasmBackendInternals & tf.KernelBackend;
    const out = backend.makeOutput(outShape, 'float32');
    const bad = addon.gather(
      heapOf(backend),
      offsetOf(backend, x),
      offsetOf(backend, indices),
      offsetOf(backend, out),
      outer,
      x.shape[ax],
      inner,
      count,
    );
    if (bad >= 0) {
      backend.disposeData(out.dataId);
      return fallback(params); // raises tfjs's own out-of-range error
    }
    return out;
  };
}
