import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import { checkGradients, expectNoLeak } from '@sculpt/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels, WASM_KERNEL_NAMES } from './index.js';

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

/** Host-side inputs, so the same numbers can be fed to either backend. */
interface HostTensor {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

const rng = new Rng(1234);
const host = (shape: number[]): HostTensor => ({
  values: rng.normalArray(shape.reduce((a, b) => a * b, 1)),
  shape,
  dtype: 'float32',
});
const toTensor = (h: HostTensor): tf.Tensor => tf.tensor(h.values, h.shape, h.dtype);

/** Runs `f` on `backend` with fresh tensors made from `inputs`; returns its outputs' values. */
async function runOn(
  backend: string,
  inputs: HostTensor[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  try {
    const xs = inputs.map(toTensor);
    const out = tf.tidy(() => f(...xs));
    const outs = Array.isArray(out) ? out : [out];
    const values = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose([...outs, ...xs]);
    return values;
  } finally {
    await tf.setBackend('wasm');
  }
}

/** max |a − b| / max |b| over all outputs. */
function relativeError(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((values, k) => {
    expect(values.length).toBe(b[k].length);
    let diff = 0;
    let scale = 1e-12;
    values.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - b[k][i]));
      scale = Math.max(scale, Math.abs(b[k][i]));
    });
    worst = Math.max(worst, diff / scale);
  });
  return worst;
}

/** Asserts wasm (with sculpt's kernels) and cpu agree on `f`'s outputs. */
async function expectParity(
  inputs: HostTensor[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  tolerance = 1e-5,
): Promise<number> {
  const wasm = await runOn('wasm', inputs, f);
  const cpu = await runOn('cpu', inputs, f);
  const error = relativeError(wasm, cpu);
  expect(error).toBeLessThan(tolerance);
  return error;
}

/**
 * f and the gradients of sum(f · r) with respect to every input (the scalar
 * itself is left out: its cancellation makes relative errors meaningless).
 */
function withGradients(f: (...xs: tf.Tensor[]) => tf.Tensor, r: tf.Tensor) {
  return (...xs: tf.Tensor[]): tf.Tensor[] => {
    const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), r)))(xs);
    return [f(...xs), ...grads];
  };
}

beforeAll(async () => {
  registerWasmKernels();
  await tf.setBackend('cpu');
  await tf.ready();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('registerWasmKernels', () => {
  it('registers every kernel for wasm only, and a second call changes nothing', () => {
    const before = WASM_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm'));
    registerWasmKernels();
    registerWasmKernels();
    const after = WASM_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm'));
    expect(before.every((config) => config !== undefined)).toBe(true);
    after.forEach((config, i) => expect(config).toBe(before[i]));
    const cpu = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    expect(cpu?.kernelFunc).not.toBe(before[0]?.kernelFunc);
  });
});

const PADS: [string, Pad][] = [
  ['same', 'same'],
  ['valid', 'valid'],
  [
    'explicit',
    [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  ],
];

describe('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput) vs cpu', () => {
  const cases: [string, string, string, number, number, Pad, number][] = [];
  for (const k of [1, 3, 4, 5])
    for (const s of [1, 2])
      for (const [name, pad] of PADS)
        for (const size of [7, 8])
          cases.push([`${k}`, `${s}`, `${name}, input ${size}×${size + 1}`, k, s, pad, size]);
  it.each(cases)('k=%s stride=%s pad=%s', async (_k, _s, _name, k, s, pad, size) => {
    const x = host([2, size, size + 1, 3]);
    const w = host([k, k, 3, 5]);
    const info = tf.backend_util.computeConv2DInfo([2, size, size + 1, 3], [k, k, 3, 5], s, 1, pad);
    const r = host([2, info.outHeight, info.outWidth, 5]);
    await expectParity([x, w, r], (xt, wt, rt) =>
      withGradients((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), rt)(xt, wt),
    );
  });

  it('agrees with cpu on a DCGAN-like layer (4×4, stride 2, same, 32→64 channels)', async () => {
    const x = host([1, 14, 14, 32]);
    const w = host([4, 4, 32, 64]);
    const r = host([1, 7, 7, 64]);
    await expectParity([x, w, r], (xt, wt, rt) =>
      withGradients((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), rt)(xt, wt),
    );
  });
});

describe('conv2dTranspose forward and gradients vs cpu', () => {
  const cases: [number, number, 'same' | 'valid', number][] = [];
  for (const k of [1, 3, 4, 5])
    for (const s of [1, 2])
      for (const pad of ['same', 'valid'] as const)
        for (const size of [4, 5]) cases.push([k, s, pad, size]);
  it.each(cases)('k=%s stride=%s pad=%s input %s', async (k, s, pad, size) => {
    const x = host([2, size, size, 5]);
    const w = host([k, k, 3, 5]); // [fh, fw, outChannels, inChannels]
    const outSize = pad === 'same' ? size * s : (size - 1) * s + k;
    const r = host([2, outSize, outSize, 3]);
    await expectParity([x, w, r], (xt, wt, rt) =>
      withGradients(
        (a, b) =>
          tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, outSize, outSize, 3], s, pad),
        rt,
      )(xt, wt),
    );
  });
});

// leakyreluAlpha is passed explicitly: left undefined, cpu returns NaN and wasm uses 0 (tfjs 4.22 bugs).
describe('fused conv2d with bias and activation vs cpu', () => {
  it.each(['relu', 'elu', 'leakyrelu'] as const)('%s', async (activation) => {
    const x = host([2, 8, 8, 3]);
    const w = host([3, 3, 3, 4]);
    const bias = host([4]);
    const r = host([2, 4, 4, 4]);
    await expectParity([x, w, bias, r], (xt, wt, bt, rt) =>
      withGradients(
        (a, b, c) =>
          tf.fused.conv2d({
            x: a as tf.Tensor4D,
            filter: b as tf.Tensor4D,
            strides: 2,
            pad: 'same',
            bias: c,
            activation,
            leakyreluAlpha: 0.2,
          }),
        rt,
      )(xt, wt, bt),
    );
  });
});

describe('matMul with every transpose combination vs cpu', () => {
  const combos: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  it.each(combos)('batchMatMul transposeA=%s transposeB=%s', async (ta, tb) => {
    const a = host(ta ? [3, 7, 5] : [3, 5, 7]);
    const b = host(tb ? [3, 6, 7] : [3, 7, 6]);
    const r = host([3, 5, 6]);
    await expectParity([a, b, r], (at, bt, rt) =>
      withGradients((p, q) => tf.matMul(p, q, ta, tb), rt)(at, bt),
    );
  });
  it.each(combos)('fused matMul + bias + relu, transposeA=%s transposeB=%s', async (ta, tb) => {
    const a = host(ta ? [7, 5] : [5, 7]);
    const b = host(tb ? [6, 7] : [7, 6]);
    const bias = host([6]);
    const r = host([5, 6]);
    await expectParity([a, b, bias, r], (at, bt, ct, rt) =>
      withGradients(
        (p, q, c) =>
          tf.fused.matMul({
            a: p as tf.Tensor2D,
            b: q as tf.Tensor2D,
            transposeA: ta,
            transposeB: tb,
            bias: c,
            activation: 'relu',
          }),
        rt,
      )(at, bt, ct),
    );
  });
});

describe('UnsortedSegmentSum and the gradient of gather vs cpu', () => {
  it('sums rows by id, dropping out-of-range ids like TensorFlow', async () => {
    const x = host([6, 3]);
    const ids: HostTensor = {
      values: Int32Array.from([2, 0, 2, -1, 4, 1]),
      shape: [6],
      dtype: 'int32',
    };
    const [wasm] = await runOn('wasm', [x, ids], (xt, it) =>
      tf.unsortedSegmentSum(xt, it as tf.Tensor1D, 4),
    );
    const v = x.values;
    const row = (i: number) => [v[3 * i], v[3 * i + 1], v[3 * i + 2]];
    const sum = (a: number[], b: number[]) => a.map((t, j) => t + b[j]);
    const expected = [...row(1), ...row(5), ...sum(row(0), row(2)), 0, 0, 0];
    expected.forEach((e, i) => expect(wasm[i]).toBeCloseTo(e, 5));
  });

  it('gather gradient (embedding lookup with repeated ids) matches cpu', async () => {
    const table = host([10, 4]);
    const ids: HostTensor = {
      values: Int32Array.from([3, 1, 3, 9, 0, 3, 1, 2]),
      shape: [2, 4],
      dtype: 'int32',
    };
    const r = host([2, 4, 4]);
    await expectParity([table, ids, r], (tt, it, rt) => {
      const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, it), rt));
      return [tf.grad(f)(tt)];
    });
  });
});

describe('depthwise conv gradients vs cpu', () => {
  const cases: [string, number, number, Pad, number][] = [];
  for (const k of [1, 3, 4])
    for (const s of [1, 2])
      for (const [name, pad] of PADS)
        for (const m of [1, 2])
          cases.push([`k=${k} stride=${s} pad=${name} multiplier=${m}`, k, s, pad, m]);
  it.each(cases)('%s', async (_name, k, s, pad, m) => {
    const x = host([2, 7, 8, 3]);
    const w = host([k, k, 3, m]);
    const info = tf.backend_util.computeConv2DInfo(
      [2, 7, 8, 3],
      [k, k, 3, m],
      s,
      1,
      pad,
      undefined,
      true,
    );
    const r = host([2, info.outHeight, info.outWidth, 3 * m]);
    await expectParity([x, w, r], (xt, wt, rt) =>
      withGradients((a, b) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), rt)(
        xt,
        wt,
      ),
    );
  });
  it('separableConv2d (depthwise 3×3 stride 2 + pointwise) trains the same as on cpu', async () => {
    const [x, dw, pw] = [host([2, 8, 8, 4]), host([3, 3, 4, 2]), host([1, 1, 8, 5])];
    const r = host([2, 4, 4, 5]);
    await expectParity([x, dw, pw, r], (xt, dt, pt, rt) =>
      withGradients(
        (a, b, c) =>
          tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, 2, 'same'),
        rt,
      )(xt, dt, pt),
    );
  });
});

describe('MaxPoolGrad vs cpu', () => {
  it('routes the gradient of all-negative windows (x = −1 − i, 2×2 pooling)', async () => {
    const x: HostTensor = {
      values: Float32Array.from({ length: 16 }, (_, i) => -1 - i),
      shape: [1, 4, 4, 1],
      dtype: 'float32',
    };
    const [dx] = await runOn('wasm', [x], (xt) =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(xt),
    );
    expect(Array.from(dx)).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
  });
  const cases: [number, number, 'same' | 'valid', boolean][] = [
    [2, 2, 'same', false],
    [3, 2, 'same', false],
    [3, 1, 'valid', false],
    [2, 2, 'valid', true],
    [3, 2, 'same', true],
  ];
  it.each(cases)(
    'filter %s stride %s pad %s, after relu (ties) %s',
    async (filter, stride, pad, relu) => {
      const x = host([2, 7, 7, 3]);
      const info = tf.backend_util.computePool2DInfo([2, 7, 7, 3], filter, stride, 1, pad);
      const r = host([2, info.outHeight, info.outWidth, 3]);
      await expectParity([x, r], (xt, rt) =>
        withGradients(
          (a) => tf.maxPool((relu ? tf.relu(a) : a) as tf.Tensor4D, filter, stride, pad),
          rt,
        )(xt),
      );
    },
  );
});

describe('OneHot', () => {
  it('returns real floats for float32, with on/off values', async () => {
    const ids: HostTensor = { values: Int32Array.from([0, 2, 1]), shape: [3], dtype: 'int32' };
    const [plain, smoothed, ints] = await runOn('wasm', [ids], (it) => [
      tf.oneHot(it as tf.Tensor1D, 3, 1, 0, 'float32'),
      tf.oneHot(it as tf.Tensor1D, 3, 0.9, 0.05, 'float32'),
      tf.oneHot(it as tf.Tensor1D, 3),
    ]);
    expect(Array.from(plain)).toEqual([1, 0, 0, 0, 0, 1, 0, 1, 0]);
    expect(Array.from(smoothed)).toEqual(
      Array.from(Float32Array.from([0.9, 0.05, 0.05, 0.05, 0.05, 0.9, 0.05, 0.9, 0.05])),
    );
    expect(Array.from(ints)).toEqual([1, 0, 0, 0, 0, 1, 0, 1, 0]);
  });
});

describe('finite differences on wasm', () => {
  const t = (shape: number[]) => toTensor(host(shape));
  it('conv2d (4×4, stride 2, same) w.r.t. input and filter', () => {
    const [x, w, r] = [t([1, 6, 6, 2]), t([4, 4, 2, 3]), t([1, 3, 3, 3])];
    const report = checkGradients(
      (a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), r)),
      [x, w],
    );
    expect(report.checked).toBeGreaterThan(0);
    tf.dispose([x, w, r]);
  });
  it('conv2dTranspose (4×4, stride 2, same) w.r.t. input and filter', () => {
    const [x, w, r] = [t([1, 3, 3, 3]), t([4, 4, 2, 3]), t([1, 6, 6, 2])];
    checkGradients(
      (a, b) =>
        tf.sum(
          tf.mul(
            tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [1, 6, 6, 2], 2, 'same'),
            r,
          ),
        ),
      [x, w],
    );
    tf.dispose([x, w, r]);
  });
  it('fused conv2d + bias + elu', () => {
    const [x, w, b, r] = [t([1, 5, 5, 2]), t([3, 3, 2, 2]), t([2]), t([1, 5, 5, 2])];
    checkGradients(
      (p, q, c) =>
        tf.sum(
          tf.mul(
            tf.fused.conv2d({
              x: p as tf.Tensor4D,
              filter: q as tf.Tensor4D,
              strides: 1,
              pad: 'same',
              bias: c,
              activation: 'elu',
            }),
            r,
          ),
        ),
      [x, w, b],
    );
    tf.dispose([x, w, b, r]);
  });
  it('matMul with transposeA and transposeB', () => {
    const [a, b, r] = [t([4, 3]), t([5, 4]), t([3, 5])];
    checkGradients((p, q) => tf.sum(tf.mul(tf.matMul(p, q, true, true), r)), [a, b]);
    tf.dispose([a, b, r]);
  });
  it('depthwiseConv2d (3×3, stride 2, multiplier 2) w.r.t. input and filter', () => {
    const [x, w, r] = [t([1, 6, 6, 2]), t([3, 3, 2, 2]), t([1, 3, 3, 4])];
    checkGradients(
      (a, b) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), r)),
      [x, w],
    );
    tf.dispose([x, w, r]);
  });
  it('gather (embedding) w.r.t. the table', () => {
    const table = t([6, 3]);
    const ids = tf.tensor1d([5, 0, 5, 2], 'int32');
    const r = t([4, 3]);
    checkGradients((p) => tf.sum(tf.mul(tf.gather(p, ids), r)), [table]);
    tf.dispose([table, ids, r]);
  });
});

describe('memory', () => {
  it('a full tf.grads pass through every kernel leaves no tensor and no wasm buffer behind', async () => {
    const backend = tf.backend();
    const inputs = [
      host([2, 8, 8, 3]),
      host([4, 4, 3, 6]),
      host([4, 4, 3, 6]),
      host([10, 5]),
      host([5, 7]),
    ];
    const xs = inputs.map(toTensor);
    const ids = tf.tensor1d([1, 4, 1, 9], 'int32');
    const step = () =>
      tf.grads((x: tf.Tensor, w: tf.Tensor, wt: tf.Tensor, emb: tf.Tensor, m: tf.Tensor) => {
        const h = tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')); // [2, 4, 4, 6]
        const up = tf.conv2dTranspose(h, wt as tf.Tensor4D, [2, 8, 8, 3], 2, 'same'); // [2, 8, 8, 3]
        const e = tf.matMul(tf.gather(emb, ids), m); // [4, 7]
        const oh = tf.oneHot(ids, 10, 1, 0, 'float32');
        const depthwiseFilter = tf.slice(w, [0, 0, 0, 0], [3, 3, 3, 2]) as tf.Tensor4D;
        const pooled = tf.maxPool(
          tf.depthwiseConv2d(x as tf.Tensor4D, depthwiseFilter, 2, 'same'),
          2,
          2,
          'same',
        );
        return tf.addN([
          tf.sum(tf.square(up)),
          tf.sum(tf.matMul(e, e, true, false)),
          tf.sum(tf.matMul(oh, emb)),
          tf.sum(pooled),
        ]);
      })(xs);
    step().forEach((g) => g.dispose()); // warm-up: XNNPACK operators and caches
    const dataIdsBefore = backend.numDataIds();
    await expectNoLeak(step, { label: 'wasm kernels tf.grads' });
    expect(backend.numDataIds()).toBe(dataIdsBefore);
    tf.dispose([...xs, ids]);
  });
});
