/**
 * Faster layout kernels for tfjs's wasm backend: `Transpose`, and the
 * reductions that transpose internally (`Sum`, `Mean`, `Max`, `Min`, `Prod`).
 *
 * tfjs-backend-wasm 4.22 has fast Transpose loops for rank ≤ 4 only; rank 5
 * and up (multi-head attention's `[B, T, 3, H, D] → [3, B, H, T, D]`, group
 * norm's `[B, H, W, G, C/G]` statistics) runs a generic per-element loop
 * ~100–200× slower. And it does not merge axes that stay adjacent, so a
 * rank-5 transpose that is really rank 3 takes the slow path too.
 *
 * Here a permutation is first simplified (size-1 axes dropped, axes that stay
 * adjacent merged); what is left of rank ≤ 4 goes to the shipped kernel in
 * one call; anything longer is done as a few axis moves, each a rank-≤ 4
 * transpose ([A, B, X, C] → [A, X, B, C]). Reductions over axes that are not
 * innermost reduce the innermost block first and finish with one XNNPACK
 * pooling window (no transpose); other layouts move the reduced axes
 * innermost with the fast transpose, then reduce.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, computeAsKernel } from './wasm-kernels/as-kernel.js';

const BACKEND = 'wasm';
const SCULPT_LAYOUT_KERNEL = Symbol.for('sculpt.wasmLayoutKernel');

/** A permutation with size-1 axes dropped and adjacent-in-both axes merged. */
export interface SimplePermutation {
  /** The merged input shape. */
  shape: number[];
  /** The permutation of the merged axes. */
  perm: number[];
}

/**
 * Simplifies `perm` on `shape`: drops size-1 axes, then merges runs of axes
 * that are consecutive in the input and stay consecutive in the output.
 * Transposing the merged shape by the merged permutation moves the same bytes.
 */
export function simplifyPermutation(
  shape: readonly number[],
  perm: readonly number[],
): SimplePermutation {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  // Renumber the kept axes 0..k-1 in input order.
  const order = [...kept].sort((a, b) => a - b);
  const rank = new Map(order.map((axis, i) => [axis, i]));
  const p = kept.map((axis) => rank.get(axis) as number);
  const s = order.map((axis) => shape[axis]);
  // Runs in output order whose input axes are consecutive.
  const runs: number[][] = [];
  for (const axis of p) {
    const last = runs.at(-1);
    if (last && last.at(-1) === axis - 1) last.push(axis);
    else runs.push([axis]);
  }
  const byInput = [...runs].sort((a, b) => a[0] - b[0]);
  const mergedShape = byInput.map((run) => run.reduce((n, axis) => n * s[axis], 1));
  const index = new Map(byInput.map((run, i) => [run[0], i]));
  return { shape: mergedShape, perm: runs.map((run) => index.get(run[0]) as number) };
}

/**
 * The axis moves that realise `perm` (rank r): each `{ from, to }` moves the
 * axis at position `from` to position `to < from`, shifting those between
 * right; a move is the rank-≤ 4 transpose [A, B, X, C] → [A, X, B, C].
 */
export function axisMoves(perm: readonly number[]): { from: number; to: number }[] {
  const current = perm.map((_, i) => i);
  const moves: { from: number; to: number }[] = [];
  for (let to = 0; to < perm.length; to++) {
    const from = current.indexOf(perm[to]);
    if (from === to) continue;
    moves.push({ from, to });
    const [axis] = current.splice(from, 1);
    current.splice(to, 0, axis);
  }
  return moves;
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * The tile size for a blocked matrix transpose of `simple`, or 0: only plain
 * [R, C] → [C, R] swaps of at least 16K elements whose sides a tile of 16 or
 * 8 divides.
 */
function matrixBlock(simple: SimplePermutation): number {
  if (simple.perm.length !== 2 || simple.perm[0] !== 1) return 0;
  const [rows, cols] = simple.shape;
  if (rows * cols < 16384) return 0;
  return [16, 8].find((b) => rows % b === 0 && cols % b === 0) ?? 0;
}

/** A kernel function as tfjs calls it. */
export type KernelFn = (params: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo;

/**
 * Transposes `x` by `perm` through the shipped kernel `original`, with the
 * permutation simplified and, past rank 4, split into axis moves. Returns a new
 * backend tensor (owned by the caller, like a kernel output).
 */
export function fastTranspose(
  original: KernelFn,
  x: tf.TensorInfo,
  perm: readonly number[],
  backend: tf.KernelBackend,
): tf.TensorInfo {
  const outShape = perm.map((axis) => x.shape[axis]);
  const simple = simplifyPermutation(x.shape, perm);
  const call = (info: tf.TensorInfo, shape: number[], p: number[]): tf.TensorInfo =>
    original({
      inputs: { x: { dataId: info.dataId, shape, dtype: info.dtype } },
      backend,
      attrs: { perm: p },
    });
  const block = matrixBlock(simple);
  if (block > 0) {
    // [R, C] → [C, R] in two cache-friendly passes (2–4× faster than the shipped
    // loop, which writes with stride R): tiles first, then within tiles.
    const [rows, cols] = simple.shape;
    const [r1, c1] = [rows / block, cols / block];
    const tiles = call(x, [r1, block, c1, block], [0, 2, 1, 3]); // [R1, C1, rb, cb]
    const out = call(tiles, [r1, c1, block, block], [1, 3, 0, 2]); // [C1, cb, R1, rb]
    backend.disposeData(tiles.dataId);
    return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
  }
  if (simple.perm.length <= 4) {
    const out = call(x, simple.shape, simple.perm);
    return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
  }
  let current: tf.TensorInfo = x;
  let shape = simple.shape;
  for (const { from, to } of axisMoves(simple.perm)) {
    // [A, B, X, C] → [A, X, B, C] with A = shape[0..to), B = shape[to..from), X = shape[from], C = shape(from..]
    const groups = [
      product(shape.slice(0, to)),
      product(shape.slice(to, from)),
      shape[from],
      product(shape.slice(from + 1)),
    ];
    const next = call(current, groups, [0, 2, 1, 3]);
    if (current !== x) backend.disposeData(current.dataId);
    current = next;
    shape = [
      ...shape.slice(0, to),
      shape[from],
      ...shape.slice(to, from),
      ...shape.slice(from + 1),
    ];
  }
  return { dataId: current.dataId, shape: outShape, dtype: current.dtype };
}

/** Wraps the shipped Transpose. */
function makeTranspose(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const { perm } = params.attrs as unknown as tf.TransposeAttrs;
    if (x.shape.some((n) => n === 0)) return original(params);
    const simple = simplifyPermutation(x.shape, perm);
    const rank = x.shape.length;
    // Ranks ≤ 4 that cannot be simplified (nor blocked): the shipped kernel as is.
    if (simple.perm.length === rank && rank <= 4 && matrixBlock(simple) === 0)
      return original(params);
    return fastTranspose(original, x, perm, params.backend as tf.KernelBackend);
  };
}

/**
 * Wraps a shipped reduction (`Sum`, `Mean`, `Max`, `Min`, `Prod`): when the
 * reduced axes are not innermost, transpose them innermost here (fast), then
 * reduce with the shipped kernel, which then skips its own (slow) transpose.
 */
function makeReduction(
  kernelName: string,
  original: KernelFn,
  transposeKernel: () => KernelFn,
): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const attrs = params.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(attrs.axis, x.shape);
    const perm = tf.backend_util.getAxesPermutation(axes, rank);
    if (perm == null || x.shape.some((n) => n === 0)) return original(params);
    const backend = params.backend as tf.KernelBackend;
    const plan = poolPlan(axes, rank);
    const poolable = kernelName === 'Sum' || kernelName === 'Mean' || kernelName === 'Max';
    if (plan && poolable && x.dtype === 'float32')
      return pooledReduce(kernelName, original, x, plan, attrs.keepDims, backend);
    const moved = fastTranspose(transposeKernel(), x, perm, backend);
    const innermost = tf.backend_util.getInnerMostAxes(axes.length, rank);
    try {
      const out = original({
        inputs: { x: moved },
        backend,
        attrs: { ...attrs, axis: innermost, keepDims: false },
      });
      const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
      const shape = attrs.keepDims
        ? tf.backend_util.expandShapeToKeepDim(outShape, axes)
        : outShape;
      return { dataId: out.dataId, shape, dtype: out.dtype };
    } finally {
      backend.disposeData(moved.dataId);
    }
  };
}

/** The reduction a pooling op can finish: a sum, a mean or a max. */
type PoolableReduction = 'Sum' | 'Mean' | 'Max';

/**
 * Splits sorted `axes` of a rank-`rank` tensor into the trailing block (ends
 * at the last axis) and the rest; returns undefined unless the rest is one
 * non-empty contiguous block (the case pooling can finish).
 */
function poolPlan(
  axes: readonly number[],
  rank: number,
): { trailing: number[]; middle: number[] } | undefined {
  const sorted = [...axes].sort((a, b) => a - b);
  let t = sorted.length;
  while (t > 0 && sorted[t - 1] === rank - (sorted.length - t) - 1) t--;
  const middle = sorted.slice(0, t);
  const trailing = sorted.slice(t);
  if (middle.length === 0) return undefined;
  if (!middle.every((axis, i) => axis === middle[0] + i)) return undefined;
  return { trailing, middle };
}

/**
 * A reduction over axes that are not innermost, without transposing: first
 * the innermost block (the shipped kernel, contiguous), then the remaining
 * contiguous block of axes as one XNNPACK pooling window over an
 * [A, R, 1, C] view (average pooling for sums and means, max pooling for
 * maxima), which reads channels contiguously. Bias gradients and batch or
 * group statistics reduce this way, 10–50× faster than the shipped
 * transpose-then-reduce.
 */
function pooledReduce(
  kernel: PoolableReduction,
  original: KernelFn,
  x: tf.TensorInfo,
  plan: { trailing: number[]; middle: number[] },
  keepDims: boolean,
  backend: tf.KernelBackend,
): tf.TensorInfo {
  const axes = [...plan.middle, ...plan.trailing];
  const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
  const inner =
    plan.trailing.length > 0
      ? original({ inputs: { x }, backend, attrs: { axis: plan.trailing, keepDims: false } })
      : x;
  const rows = product(plan.middle.map((a) => x.shape[a]));
  const before = product(x.shape.slice(0, plan.middle[0]));
  const after = product(inner.shape) / (before * rows);
  const view = { dataId: inner.dataId, shape: [before, rows, 1, after], dtype: inner.dtype };
  const info = computeAsKernel(backend, () => {
    const v = asTensor(view, backend) as tf.Tensor4D;
    const pooled =
      kernel === 'Max'
        ? tf.maxPool(v, [rows, 1], 1, 'valid')
        : tf.avgPool(v, [rows, 1], 1, 'valid');
    return tf.reshape(kernel === 'Sum' ? tf.mul(pooled, rows) : pooled, shape);
  });
  if (inner !== x) backend.disposeData(inner.dataId);
  return info;
}

/**
 * `Tile` that only broadcasts size-1 leading axes ([1, …, 1, C…] repeated
 * along the leading axes: batch-norm gradients tile per-channel statistics
 * over [N, H, W]) as an outer product 1·x through XNNPACK; the shipped Tile
 * copies element by element (~100× slower here). Other tilings: unchanged.
 */
function makeTile(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const { reps } = params.attrs as unknown as tf.TileAttrs;
    let k = 0;
    while (k < x.shape.length && x.shape[k] === 1) k++;
    const leadingOnly = reps.every((r, axis) => r === 1 || axis < k);
    const rows = product(reps);
    if (x.dtype !== 'float32' || !leadingOnly || rows === 1 || x.shape.some((n) => n === 0))
      return original(params);
    const backend = params.backend as tf.KernelBackend;
    const outShape = x.shape.map((n, axis) => n * reps[axis]);
    return computeAsKernel(backend, () => {
      const row = asTensor({ ...x, shape: [1, product(x.shape)] }, backend);
      return tf.reshape(tf.matMul(tf.ones([rows, 1]), row), outShape);
    });
  };
}

function isLayoutKernel(config: tf.KernelConfig | undefined): boolean {
  return (
    config !== undefined &&
    (config as unknown as Record<symbol, unknown>)[SCULPT_LAYOUT_KERNEL] === true
  );
}

function replace(
  kernelName: string,
  wrap: (original: KernelFn) => tf.KernelFunc,
): KernelFn | undefined {
  const config = tf.getKernel(kernelName, BACKEND);
  if (config === undefined) return undefined;
  if (isLayoutKernel(config)) return (config as unknown as { original: KernelFn }).original;
  const original = config.kernelFunc as KernelFn;
  tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel({
    kernelName,
    backendName: BACKEND,
    kernelFunc: wrap(original),
    setupFunc: config.setupFunc,
    disposeFunc: config.disposeFunc,
    [SCULPT_LAYOUT_KERNEL]: true,
    original,
  } as tf.KernelConfig);
  return original;
}

/** The shipped wasm `Transpose` kernel function (unwrapped), or undefined without tfjs-backend-wasm. */
export function shippedTranspose(): KernelFn | undefined {
  const config = tf.getKernel('Transpose', BACKEND);
  if (config === undefined) return undefined;
  return isLayoutKernel(config)
    ? (config as unknown as { original: KernelFn }).original
    : (config.kernelFunc as KernelFn);
}

/** The kernels {@link registerWasmLayoutKernels} replaces. */
export const WASM_LAYOUT_KERNEL_NAMES = [
  'Transpose',
  'Sum',
  'Mean',
  'Max',
  'Min',
  'Prod',
  'Tile',
] as const;

/**
 * Replaces the wasm backend's `Transpose` and the reductions that transpose
 * internally with versions that merge adjacent axes and split long
 * permutations into rank-≤ 4 moves (see the top of this file). Same numbers
 * (these kernels only move data before the shipped reduction runs).
 * Idempotent; a no-op when tfjs-backend-wasm is not loaded.
 *
 * @returns nothing; the effect is on tfjs's kernel registry for `'wasm'`.
 * @example
 * ```ts
 * registerWasmLayoutKernels(); // initBackend('wasm') does this
 * ```
 */
export function registerWasmLayoutKernels(): void {
  const transpose = replace('Transpose', makeTranspose);
  if (transpose === undefined) return;
  replace('Tile', makeTile);
  for (const name of WASM_LAYOUT_KERNEL_NAMES.slice(1, -1))
    replace(name, (original) => makeReduction(name, original, () => transpose));
}
