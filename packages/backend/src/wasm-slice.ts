/**
 * Slicing kernels for tfjs's wasm backend that read their input in place.
 *
 * The shipped `Slice` starts with `backend.readSync(x)`: a copy of the whole
 * input into a fresh JavaScript buffer, whatever the size of the slice. Taking
 * one element of a 512×512 product cost ~3 ms that way (1 MB copied into new
 * pages), and `SplitV`, `Unpack` and the simple case of `StridedSlice` call the
 * same function once per output (a GPT's q/k/v split copies its input three
 * times). These kernels copy only the slice, from a view of the wasm memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapWasmKernel } from './kernel-marks.js';
import type { KernelFn } from './wasm-layout.js';

const SCULPT_SLICE_KERNEL = Symbol.for('sculpt.wasmSliceKernel');

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's backend these kernels use. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): NumericArray;
}

/**
 * Copies the box `begin` + `size` of `x` (shape `shape`, row-major) into
 * `out`: one `set` per run of the innermost axes that the box covers whole.
 */
export function copyBox(
  x: NumericArray,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: NumericArray,
): void {
  const rank = shape.length;
  // The box is contiguous from axis `inner` on when every axis after it is taken whole.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === shape[inner]) inner--;
  let run = 1;
  for (let d = inner; d < rank; d++) run *= size[d];
  const strides = tf.util.computeStrides([...shape]);
  const runs = inner === 0 ? 1 : size.slice(0, inner).reduce((a, b) => a * b, 1);
  const index = new Array<number>(inner).fill(0);
  for (let r = 0, o = 0; r < runs; r++, o += run) {
    let offset = begin[inner] * (strides[inner] ?? 1); // the last axis has stride 1
    for (let d = 0; d < inner; d++) offset += (begin[d] + index[d]) * strides[d];
    out.set(x.subarray(offset, offset + run), o);
    for (let d = inner - 1; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
}

/** A new output holding the box `begin` + `size` of `x`. */
function sliceInPlace(
  backend: WasmBackend,
  x: tf.TensorInfo,
  begin: readonly number[],
  size: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (size.every((n) => n > 0)) {
    // Views after makeOutput: allocating the output may grow (and detach) the memory.
    copyBox(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  }
  return out;
}

const numeric = (x: tf.TensorInfo): boolean => x.dtype !== 'string' && x.shape.length > 0;

function makeSlice(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    if (!numeric(x)) return original(params);
    const { begin, size } = params.attrs as unknown as tf.SliceAttrs;
    const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    return sliceInPlace(params.backend as unknown as WasmBackend, x, begin_, size_);
  };
}

function makeSplitV(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    if (!numeric(x)) return original(params);
    const { numOrSizeSplits, axis } = params.attrs as unknown as tf.SplitVAttrs;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const out = sliceInPlace(params.backend as unknown as WasmBackend, x, begin, size);
      begin[$axis] += s;
      return out;
    });
  };
}

function makeUnpack(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const value = params.inputs.value as tf.TensorInfo;
    if (!numeric(value)) return original(params);
    const rank = value.shape.length;
    let { axis } = params.attrs as unknown as tf.UnpackAttrs;
    if (axis < 0) axis += rank;
    const outShape = value.shape.filter((_, d) => d !== axis);
    const begin = new Array<number>(rank).fill(0);
    const size = [...value.shape];
    size[axis] = 1;
    const outs: tf.TensorInfo[] = [];
    for (let i = 0; i < value.shape[axis]; i++) {
      begin[axis] = i;
      const out = sliceInPlace(params.backend as unknown as WasmBackend, value, begin, size);
      outs.push({ dataId: out.dataId, dtype: out.dtype, shape: outShape });
    }
    return outs;
  };
}

/** StridedSlice: the contiguous cases through {@link sliceInPlace}; the rest as shipped. */
function makeStridedSlice(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    if (!numeric(x)) return original(params);
    const a = params.attrs as unknown as tf.StridedSliceAttrs;
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    if (info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) return original(params);
    const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
    const out = sliceInPlace(params.backend as unknown as WasmBackend, x, info.begin, size);
    return { dataId: out.dataId, dtype: out.dtype, shape: info.finalShape };
  };
}

/**
 * Replaces the wasm backend's `Slice`, `SplitV`, `Unpack` and the contiguous
 * cases of `StridedSlice` with kernels that copy only the slice (see the top
 * of this file). Idempotent; a no-op without tfjs-backend-wasm.
 *
 * @returns nothing; the effect is on tfjs's kernel registry for `'wasm'`.
 * @example
 * ```ts
 * registerWasmSliceKernels(); // initBackend('wasm') does this
 * ```
 */
export function registerWasmSliceKernels(): void {
  wrapWasmKernel('Slice', SCULPT_SLICE_KERNEL, makeSlice);
  wrapWasmKernel('SplitV', SCULPT_SLICE_KERNEL, makeSplitV);
  wrapWasmKernel('Unpack', SCULPT_SLICE_KERNEL, makeUnpack);
  wrapWasmKernel('StridedSlice', SCULPT_SLICE_KERNEL, makeStridedSlice);
}
