// Backend parity: the ops and layers sculpt's model families use, forward and
// backward, on wasm and webgpu (Dawn on software GL in Node) against the cpu
// backend as reference.
//
// Tolerance: |x − ref| ≤ ATOL + RTOL·|ref| per element, with ATOL = 1e-4 and
// RTOL = 1e-4, on O(1) inputs. Measured (tfjs 4.22, Mesa llvmpipe): max |Δ|
// 1.1e-5 on both wasm and webgpu (conv gradients, ~200-term sums), i.e. under
// 3% of the tolerance; most ops agree to ~1e-6. A wrong kernel misses by O(1).
// Run with SCULPT_PARITY_REPORT=1 to print the per-case numbers.
//
// webgpu must start: if it cannot, every webgpu test fails with the start-up
// error. Set SCULPT_SKIP_WEBGPU=1 to skip webgpu deliberately (e.g. on a
// machine without Mesa's EGL; see NODE_WEBGPU_APT_PACKAGES).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers also registers tfjs-core's gradients: the Node build of tfjs-core ships none.
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  requireBackend,
  runOn,
  type StartedBackends,
  startSuiteBackends,
  worstRatio,
} from './backends.test-util.js';
import type { BackendName } from './init.js';

const ATOL = 1e-4;
const RTOL = 1e-4;

// Fixed inputs, made once on the CPU so every backend sees the same numbers.
const rng = new Rng(2024);
const POOL = rng.normalArray(1 << 14);
let cursor = 0;
/** A tensor of the next `prod(shape)` pool values times `scale` (deterministic order of calls). */
function fixed(shape: number[], scale = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const start = cursor % (POOL.length - size);
  const values = POOL.subarray(start, start + size).map((v) => v * scale);
  cursor = start + size;
  return tf.tensor(values, shape, 'float32');
}

/** `[f(xs), ∂/∂xs Σ f(xs)·R]` with fixed random weights R, so every gradient entry is exercised. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const y = f(...xs);
  const r = fixed(y.shape);
  const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), r)))(xs);
  return [y, ...grads];
}

interface ParityCase {
  name: string;
  /** Kernels known to be missing on some backend until sculpt registers them; the case is skipped there while they are. */
  knownGaps?: Partial<Record<BackendName, string[]>>;
  /**
   * Backends known to compute this case wrongly (the reference is right: see
   * cpu-kernels.test.ts). The test then asserts the mismatch is still there,
   * so a fix upstream or in sculpt shows up as a failure asking to drop the mark.
   */
  knownBugs?: Partial<Record<BackendName, string>>;
  tolerance?: { atol: number; rtol: number };
  /** Must build its inputs with `fixed` (same call order on every backend). */
  run: () => tf.Tensor | tf.Tensor[];
}

const WASM_CONV_GAPS = { wasm: ['Conv2DBackpropFilter'] };

function convCase(strides: 1 | 2): ParityCase {
  return {
    name: `conv2d stride ${strides} + grads`,
    knownGaps: WASM_CONV_GAPS,
    run: () =>
      withGrads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, 'same'),
        [fixed([2, 8, 8, 3]), fixed([3, 3, 3, 4], 0.5)],
      ),
  };
}

function convTransposeCase(strides: 1 | 2): ParityCase {
  return {
    name: `conv2dTranspose stride ${strides} + grads`,
    knownGaps: WASM_CONV_GAPS,
    run: () =>
      withGrads(
        (x, w) =>
          tf.conv2dTranspose(
            x as tf.Tensor4D,
            w as tf.Tensor4D,
            [2, 8 * strides, 8 * strides, 4],
            strides,
            'same',
          ),
        [fixed([2, 8, 8, 3]), fixed([3, 3, 4, 3], 0.5)],
      ),
  };
}

/** A small conv → dense model built with tfjs-layers, weights set from the pool. */
function layersModel(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({
      inputShape: [8, 8, 3],
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
    }),
  );
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 8, activation: 'tanh' }));
  model.add(tfl.layers.dense({ units: 3 }));
  model.setWeights(model.getWeights().map((w) => fixed(w.shape, 0.4)));
  return model;
}

const CASES: ParityCase[] = [
  {
    name: 'matMul',
    run: () => withGrads((a, b) => tf.matMul(a, b), [fixed([5, 7]), fixed([7, 4])]),
  },
  {
    name: 'matMul transposeA',
    run: () => withGrads((a, b) => tf.matMul(a, b, true, false), [fixed([7, 5]), fixed([7, 4])]),
  },
  {
    name: 'matMul transposeB',
    run: () => withGrads((a, b) => tf.matMul(a, b, false, true), [fixed([5, 7]), fixed([4, 7])]),
  },
  {
    name: 'matMul transposeA+B',
    run: () => withGrads((a, b) => tf.matMul(a, b, true, true), [fixed([7, 5]), fixed([4, 7])]),
  },
  {
    name: 'batched matMul',
    run: () => withGrads((a, b) => tf.matMul(a, b), [fixed([3, 5, 7]), fixed([3, 7, 4])]),
  },
  convCase(1),
  convCase(2),
  convTransposeCase(1),
  convTransposeCase(2),
  {
    name: 'fused conv2d + bias + relu + grads',
    knownGaps: WASM_CONV_GAPS,
    run: () =>
      withGrads(
        (x, w, b) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: w as tf.Tensor4D,
            strides: 1,
            pad: 'same',
            bias: b,
            activation: 'relu',
          }),
        [fixed([2, 8, 8, 3]), fixed([3, 3, 3, 4], 0.5), fixed([4], 0.5)],
      ),
  },
  {
    name: 'moments + batchNorm + grads',
    run: () =>
      withGrads(
        (x, offset, scale) => {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          return tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
        },
        [tf.add(fixed([2, 4, 4, 3], 2), 1), fixed([3]), fixed([3])],
      ),
  },
  {
    name: 'softmax / logSoftmax + grads',
    run: () => [
      ...withGrads((x) => tf.softmax(x), [fixed([6, 10], 3)]),
      ...withGrads((x) => tf.logSoftmax(x), [fixed([6, 10], 3)]),
    ],
  },
  {
    name: 'gather + grad',
    knownGaps: { wasm: ['UnsortedSegmentSum'] },
    run: () => {
      const indices = tf.tensor1d([3, 0, 9, 3, 5, 1, 3], 'int32');
      return withGrads((table) => tf.gather(table, indices), [fixed([10, 5])]);
    },
  },
  {
    name: 'concat + grads',
    run: () => [
      ...withGrads((a, b) => tf.concat([a, b], 1), [fixed([2, 3, 4]), fixed([2, 5, 4])]),
      ...withGrads((a, b) => tf.concat([a, b], 2), [fixed([2, 3, 4]), fixed([2, 3, 6])]),
    ],
  },
  {
    name: 'resizeNearestNeighbor + grad',
    run: () => [
      ...withGrads(
        (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [8, 8]),
        [fixed([2, 4, 4, 3])],
      ),
      ...withGrads(
        (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [7, 6], true),
        [fixed([2, 4, 4, 3])],
      ),
      ...withGrads(
        (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [8, 8], false, true),
        [fixed([2, 4, 4, 3])],
      ),
    ],
  },
  {
    name: 'resizeNearestNeighbor halfPixelCenters, non-integer scale + grad',
    knownBugs: {
      wasm: 'tfjs 4.22 wasm ResizeNearestNeighborGrad ignores halfPixelCenters',
      webgpu: 'tfjs 4.22 webgpu ResizeNearestNeighborGrad ignores halfPixelCenters',
    },
    run: () =>
      withGrads(
        (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [7, 6], false, true),
        [fixed([2, 4, 4, 3])],
      ),
  },
  {
    name: 'resizeBilinear + grad',
    run: () =>
      withGrads((x) => tf.image.resizeBilinear(x as tf.Tensor4D, [8, 8]), [fixed([2, 4, 4, 3])]),
  },
  {
    name: 'sigmoid / tanh / silu / gelu + grads',
    run: () => {
      const gelu = (x: tf.Tensor): tf.Tensor => {
        // GELU, tanh approximation (Hendrycks & Gimpel 2016): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
        const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
        return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
      };
      return [
        ...withGrads((x) => tf.sigmoid(x), [fixed([64], 3)]),
        ...withGrads((x) => tf.tanh(x), [fixed([64], 3)]),
        ...withGrads((x) => tf.mul(x, tf.sigmoid(x)), [fixed([64], 3)]),
        ...withGrads(gelu, [fixed([64], 3)]),
      ];
    },
  },
  {
    name: 'sum / mean + grads',
    run: () => [
      ...withGrads((x) => tf.sum(x, 1), [fixed([4, 6, 5])]),
      ...withGrads((x) => tf.mean(x, [0, 2], true), [fixed([4, 6, 5])]),
      ...withGrads((x) => tf.mean(x), [fixed([4, 6, 5])]),
    ],
  },
  {
    name: 'tfjs-layers conv/dense model forward + backward',
    knownGaps: WASM_CONV_GAPS,
    run: () => {
      const model = layersModel();
      const x = fixed([2, 8, 8, 3]);
      const target = fixed([2, 3]);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const forward = (): tf.Scalar =>
        tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target)));
      const y = model.apply(x) as tf.Tensor;
      const { value, grads } = tf.variableGrads(forward, vars);
      const out = [y, value, ...vars.map((v) => grads[v.name])];
      model.dispose();
      return out;
    },
  },
];

/** Reference results per case, computed on cpu in beforeAll. */
const reference = new Map<string, Float32Array[]>();
let backends: StartedBackends;

beforeAll(async () => {
  backends = await startSuiteBackends();
  for (const c of CASES) {
    cursor = 0;
    reference.set(c.name, await runOn('cpu', c.run));
  }
});

describe.each(['wasm', 'webgpu'] as const)('parity %s vs cpu', (backend) => {
  it(`${backend} starts`, (ctx) => {
    if (!requireBackend(backends, backend)) ctx.skip('SCULPT_SKIP_WEBGPU=1');
    expect(backends.started.has(backend)).toBe(true);
  });

  it.for(CASES.map((c) => [c.name, c] as const))('%s', async ([, c], ctx) => {
    if (!requireBackend(backends, backend)) ctx.skip('SCULPT_SKIP_WEBGPU=1');
    const missing = (c.knownGaps?.[backend] ?? []).filter(
      (k) => tf.getKernel(k, backend) === undefined,
    );
    if (missing.length)
      ctx.skip(`${backend} lacks kernel ${missing.join(', ')} (registerWasmKernels will add it)`);
    cursor = 0;
    const actual = await runOn(backend, c.run);
    const ref = reference.get(c.name)!;
    const { atol, rtol } = c.tolerance ?? { atol: ATOL, rtol: RTOL };
    const { ratio, maxAbs } = worstRatio(actual, ref, atol, rtol);
    if (process.env.SCULPT_PARITY_REPORT === '1')
      console.log(
        `${backend} ${c.name}: max |Δ| = ${maxAbs.toExponential(2)}, worst/tolerance = ${ratio.toFixed(3)}`,
      );
    const bug = c.knownBugs?.[backend];
    if (bug) {
      expect(
        ratio,
        `${c.name} on ${backend} now matches cpu: remove knownBugs (${bug})`,
      ).toBeGreaterThan(1);
    } else {
      expect(ratio, `${c.name} on ${backend}: max |Δ| = ${maxAbs}`).toBeLessThanOrEqual(1);
    }
  });
});
