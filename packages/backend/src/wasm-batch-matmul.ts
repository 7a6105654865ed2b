/**
 * `BatchMatMul` with a batch (attention's `[B·H, T, D] × [B·H, D, T]`) on
 * tfjs's wasm backend, through XNNPACK one batch at a time.
 *
 * tfjs-backend-wasm 4.22 sends a product to XNNPACK's GEMM only when both
 * batch sizes are 1 and no transpose flag is set; everything else runs a
 * scalar triple loop (`slow_batch_matmul`, ~1 GFLOP/s). Splitting the batch
 * into tfjs ops costs more than it saves (a slice, a matMul and a stack per
 * batch: ~0.3 ms each). So the split happens below tfjs: for batch i the
 * kernel registers views of the i-th slices of a, b and the output (ids the
 * wasm side knows, pointing into the existing buffers; no copy) and calls the
 * shipped C++ `BatchMatMul` on them, which takes the XNNPACK path. The views
 * are unregistered right after (that also frees the XNNPACK operator cached
 * on the view of b).
 *
 * When b has batch 1 (a dense layer applied to a rank-3 input), the whole
 * product is one `[1, batch·M, K] × [1, K, N]` GEMM instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasMark, WASM_BATCH_MATMUL_MARK } from './kernel-marks.js';
import { fastTranspose, type KernelFn, shippedTranspose } from './wasm-layout.js';

const BACKEND = 'wasm';
const SCULPT_BATCH_MATMUL = WASM_BATCH_MATMUL_MARK;

/** The parts of tfjs-backend-wasm's `BackendWasm` this kernel uses. */
interface WasmBackendInternals {
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  wasm: {
    cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
}

type CppBatchMatMul = (...args: unknown[]) => void;
const cppByBackend = new WeakMap<object, CppBatchMatMul>();

function cppBatchMatMul(backend: WasmBackendInternals): CppBatchMatMul {
  let fn = cppByBackend.get(backend);
  if (!fn) {
    fn = backend.wasm.cwrap('BatchMatMul', null, [
      'number', // a id
      'array', // a shape (int32 bytes)
      'number', // a rank
      'number', // b id
      'array', // b shape
      'number', // b rank
      'number', // transposeA
      'number', // transposeB
      'number', // out id
    ]);
    cppByBackend.set(backend, fn);
  }
  return fn;
}

const shapeBytes = (shape: number[]): Uint8Array => new Uint8Array(new Int32Array(shape).buffer);
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Swaps the last two axes of `x` with the fast transpose; the caller disposes the result. */
function transposeLast(x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  const perm = x.shape.map((_, i) => i);
  perm[perm.length - 2] = perm.length - 1;
  perm[perm.length - 1] = perm.length - 2;
  return fastTranspose(shippedTranspose() as KernelFn, x, perm, backend);
}

/**
 * out[i] = a[i]·b[i] for i < batch via views; a or b may have batch 1
 * (broadcast). a: [batchA, M, K], b: [batchB, K, N], both float32, no flags.
 */
function splitProduct(
  backend: WasmBackendInternals,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  dims: { batchA: number; batchB: number; m: number; k: number; n: number },
  outShape: number[],
): tf.TensorInfo {
  const { batchA, batchB, m, k, n } = dims;
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([batch, m, n], 'float32');
  const offsetOf = (info: tf.TensorInfo) =>
    (backend.dataIdMap.get(info.dataId) as { memoryOffset: number }).memoryOffset;
  const [aBase, bBase, outBase] = [offsetOf(a), offsetOf(b), offsetOf(out)];
  const cpp = cppBatchMatMul(backend);
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  const { tfjs } = backend.wasm;
  for (let i = 0; i < batch; i++) {
    const ids = [
      backend.dataIdNextNumber++,
      backend.dataIdNextNumber++,
      backend.dataIdNextNumber++,
    ];
    tfjs.registerTensor(ids[0], m * k, aBase + (batchA === 1 ? 0 : i * m * k * 4));
    tfjs.registerTensor(ids[1], k * n, bBase + (batchB === 1 ? 0 : i * k * n * 4));
    tfjs.registerTensor(ids[2], m * n, outBase + i * m * n * 4);
    try {
      cpp(ids[0], aShape, 3, ids[1], bShape, 3, 0, 0, ids[2]);
    } finally {
      for (const id of ids) tfjs.disposeData(id); // unregisters the view only; no free
    }
  }
  return { dataId: out.dataId, shape: outShape, dtype: 'float32' };
}

/** Wraps the registered `BatchMatMul` (shipped, or sculpt's transpose-first one). */
function makeBatchMatMul(original: KernelFn): tf.KernelFunc {
  return (params) => {
    const a = params.inputs.a as tf.TensorInfo;
    const b = params.inputs.b as tf.TensorInfo;
    const { transposeA, transposeB } = params.attrs as unknown as tf.BatchMatMulAttrs;
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const simple = batchA === 1 && batchB === 1;
    const broadcastOk = batchA === batchB || batchA === 1 || batchB === 1;
    const sameOuter = a.shape.length === b.shape.length || batchA === 1 || batchB === 1;
    if (
      simple ||
      !broadcastOk ||
      !sameOuter ||
      a.dtype !== 'float32' ||
      b.dtype !== 'float32' ||
      shippedTranspose() === undefined
    )
      return original(params);
    const backend = params.backend as tf.KernelBackend & WasmBackendInternals;
    const owned: tf.TensorInfo[] = [];
    try {
      const aa = transposeA ? transposeLast(a, backend) : a;
      const bb = transposeB ? transposeLast(b, backend) : b;
      if (aa !== a) owned.push(aa);
      if (bb !== b) owned.push(bb);
      const [m, k] = aa.shape.slice(-2);
      const n = bb.shape.at(-1) as number;
      if (k !== bb.shape.at(-2)) return original(params); // let tfjs raise its shape error
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(
        a.shape.slice(0, -2),
        b.shape.slice(0, -2),
      );
      const outShape = [...outer, m, n];
      if (batchB === 1) {
        // One GEMM: [1, batchA·M, K] × [1, K, N].
        const flat = original({
          inputs: { a: { ...aa, shape: [1, batchA * m, k] }, b: { ...bb, shape: [1, k, n] } },
          backend,
          attrs: { ...params.attrs, transposeA: false, transposeB: false },
        });
        return { dataId: flat.dataId, shape: outShape, dtype: flat.dtype };
      }
      return splitProduct(backend, aa, bb, { batchA, batchB, m, k, n }, outShape);
    } finally {
      for (const t of owned) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Replaces the wasm backend's `BatchMatMul` with one that sends batched
 * products to XNNPACK one batch at a time (see the top of this file). Same
 * numbers up to float rounding. Idempotent; a no-op without tfjs-backend-wasm.
 *
 * @returns nothing; the effect is on tfjs's kernel registry for `'wasm'`.
 * @example
 * ```ts
 * registerWasmBatchMatMul(); // initBackend('wasm') does this
 * ```
 */
export function registerWasmBatchMatMul(): void {
  const config = tf.getKernel('BatchMatMul', BACKEND);
  if (config === undefined || hasMark(config, SCULPT_BATCH_MATMUL)) return;
  tf.unregisterKernel('BatchMatMul', BACKEND);
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: BACKEND,
    kernelFunc: makeBatchMatMul(config.kernelFunc as KernelFn),
    setupFunc: config.setupFunc,
    disposeFunc: config.disposeFunc,
    [SCULPT_BATCH_MATMUL]: true,
  } as tf.KernelConfig);
}
