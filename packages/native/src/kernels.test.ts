import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NATIVE_KERNEL_NAMES,
  nativeStatus,
  registerNativeKernels,
  setNativeThreads,
  unregisterNativeKernels,
} from './index.js';
import { values } from './test-values.js';

type Inputs = Record<string, number[]>;

/** Runs `fn` on `backend` with tensors made from the same deterministic values. */
async function run(
  backend: string,
  shapes: Inputs,
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ts: Record<string, tf.Tensor> = {};
    let seed = 1;
    for (const [name, shape] of Object.entries(shapes)) {
      ts[name] = tf.tensor(
        values(
          shape.reduce((a, b) => a * b, 1),
          seed++,
        ),
        shape,
      );
    }
    const out = fn(ts);
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

/** Native-on-wasm against tfjs's cpu backend (the reference), elementwise. */
async function expectMatchesCpu(
  shapes: Inputs,
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
  tol = 1e-4,
): Promise<void> {
  const want = await run('cpu', shapes, fn);
  const got = await run('wasm', shapes, fn);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(got[i].length).toBe(want[i].length);
    let worst = 0;
    for (let j = 0; j < want[i].length; j++) {
      worst = Math.max(worst, Math.abs(got[i][j] - want[i][j]) / (1 + Math.abs(want[i][j])));
    }
    expect(worst).toBeLessThan(tol);
  }
}

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('the addon', () => {
  it('is built and loads', () => {
    expect(nativeStatus()).toEqual({ available: true });
  });

  it('serves every kernel it lists on wasm', () => {
    for (const name of NATIVE_KERNEL_NAMES) {
      const config = tf.getKernel(name, 'wasm') as unknown as Record<symbol, unknown>;
      expect(config[Symbol.for('sculpt.nativeReplaced')], name).toBeDefined();
    }
  });

  it('adds the fused LayerNorm and GELU, which name what they got and the fix for inputs they do not take', () => {
    const x = tf.ones([2, 3, 4]);
    const gamma = tf.ones([4]);
    expect(() => tf.engine().runKernel(FUSED_KERNELS.layerNorm, { x, gamma }, {})).toThrow(
      /expected float32 x \[R, C\].*got x float32 \[2,3,4\].*reshape x to 2D/,
    );
    const ints = tf.tensor1d([1, 2], 'int32');
    expect(() => tf.engine().runKernel(FUSED_KERNELS.gelu, { x: ints }, {})).toThrow(
      /expected a float32 input x.*got int32.*cast x to float32/,
    );
    tf.dispose([x, gamma, ints]);
  });

  it('keeps freed memory where the allocator is glibc, unless told not to', () => {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } };
    const glibc = typeof report.header?.glibcVersionRuntime === 'string';
    expect(registerNativeKernels().keepsFreedMemory).toBe(glibc);
    expect(registerNativeKernels({ keepFreedMemory: false }).keepsFreedMemory).toBe(false);
  });

  it('rejects a bad thread count with the fix', () => {
    expect(() => registerNativeKernels({ threads: 0 })).toThrow(SculptError);
    expect(() => setNativeThreads(1.5)).toThrow(/positive integer/);
  });
});

describe('matMul', () => {
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matches cpu with transposeA=${ta}, transposeB=${tb}`, async () => {
      const a = ta ? [37, 23] : [23, 37];
      const b = tb ? [19, 37] : [37, 19];
      await expectMatchesCpu({ a, b }, ({ a, b }) => tf.matMul(a, b, ta, tb));
    });
  }

  it('matches cpu for batched, broadcast and rank-4 products', async () => {
    await expectMatchesCpu({ a: [4, 9, 7], b: [4, 7, 5] }, ({ a, b }) => tf.matMul(a, b));
    await expectMatchesCpu({ a: [4, 9, 7], b: [7, 5] }, ({ a, b }) => tf.matMul(a, b));
    await expectMatchesCpu({ a: [4, 7, 9], b: [7, 5] }, ({ a, b }) => tf.matMul(a, b, true));
    await expectMatchesCpu({ a: [9, 7], b: [3, 7, 5] }, ({ a, b }) => tf.matMul(a, b));
    await expectMatchesCpu({ a: [2, 3, 6, 8], b: [2, 3, 6, 8] }, ({ a, b }) =>
      tf.matMul(a, b, false, true),
    );
  });

  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const) {
    it(`fuses bias and ${activation}`, async () => {
      await expectMatchesCpu({ a: [3, 11, 13], b: [13, 17], bias: [17] }, ({ a, b, bias }) =>
        tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }),
      );
    });
  }

  it('fuses bias and activation over many rows (split across threads)', async () => {
    await expectMatchesCpu({ a: [1200, 32], b: [32, 520], bias: [520] }, ({ a, b, bias }) =>
      tf.fused.matMul({ a, b, bias, activation: 'elu' }),
    );
  });

  it('fuses a scalar bias and prelu weights', async () => {
    await expectMatchesCpu({ a: [11, 13], b: [17, 13], bias: [1], w: [17] }, ({ a, b, bias, w }) =>
      tf.fused.matMul({
        a,
        b,
        transposeB: true,
        bias,
        activation: 'prelu',
        preluActivationWeights: w,
      }),
    );
  });

  it('gives the gradients cpu gives', async () => {
    for (const [a, b] of [
      [
        [6, 7],
        [7, 4],
      ],
      [
        [5, 6, 7],
        [5, 7, 4],
      ],
    ]) {
      await expectMatchesCpu({ a, b }, ({ a, b }) =>
        tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([a, b]),
      );
    }
  });
});

describe('conv2d', () => {
  const cases: {
    name: string;
    x: number[];
    f: number[];
    strides: number | [number, number];
    pad:
      | 'same'
      | 'valid'
      | [[number, number], [number, number], [number, number], [number, number]];
    dilations?: number;
  }[] = [
    { name: '3×3 same', x: [2, 9, 9, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same' },
    { name: '4×4 stride 2 same', x: [2, 14, 14, 4], f: [4, 4, 4, 6], strides: 2, pad: 'same' },
    {
      name: '5×3 valid strides 2,1',
      x: [1, 11, 10, 2],
      f: [5, 3, 2, 3],
      strides: [2, 1],
      pad: 'valid',
    },
    {
      name: '3×3 dilation 2',
      x: [2, 12, 12, 3],
      f: [3, 3, 3, 4],
      strides: 1,
      pad: 'same',
      dilations: 2,
    },
    { name: '1×1 pointwise', x: [3, 5, 5, 8], f: [1, 1, 8, 6], strides: 1, pad: 'valid' },
    // stride 1: the input gradient as one forward conv over dy (flipped filter)
    { name: '3×2 valid stride 1', x: [2, 10, 9, 6], f: [3, 2, 6, 5], strides: 1, pad: 'valid' },
    {
      name: 'explicit padding, stride 1',
      x: [2, 7, 8, 4],
      f: [3, 3, 4, 5],
      strides: 1,
      pad: [
        [0, 0],
        [2, 0],
        [0, 1],
        [0, 0],
      ],
    },
    // co a multiple of 8 up to 32 (and, for the stride-1 input gradient, c): the direct
    // AVX2 loops (partial blocks of pixels at the ends of a line, taps in the padding)
    { name: '3×3 same, 16 → 16', x: [2, 9, 9, 16], f: [3, 3, 16, 16], strides: 1, pad: 'same' },
    { name: '3×3 same, 5 → 32', x: [2, 7, 7, 5], f: [3, 3, 5, 32], strides: 1, pad: 'same' },
    { name: '3×3 same, 6 → 64', x: [2, 7, 6, 6], f: [3, 3, 6, 64], strides: 1, pad: 'same' },
    { name: '4×4 stride 2, 8 → 128', x: [2, 8, 8, 8], f: [4, 4, 8, 128], strides: 2, pad: 'same' },
    { name: '3×3 stride 2, 40 → 40', x: [2, 9, 9, 40], f: [3, 3, 40, 40], strides: 2, pad: 'same' },
    // one input channel into 16 (direct), and 16 into one (its input gradient: direct)
    { name: '3×3 same, 1 → 16', x: [2, 9, 9, 1], f: [3, 3, 1, 16], strides: 1, pad: 'same' },
    { name: '3×3 same, 16 → 1', x: [2, 9, 9, 16], f: [3, 3, 16, 1], strides: 1, pad: 'same' },
    // rows wide enough for thin_conv.cc's interior loops (16-pixel blocks, 4-pixel blocks, tap sums)
    {
      name: '3×3 same, 16 → 1, 28 wide',
      x: [2, 5, 28, 16],
      f: [3, 3, 16, 1],
      strides: 1,
      pad: 'same',
    },
    {
      name: '3×3 valid, 32 → 1, 37 wide',
      x: [2, 4, 37, 32],
      f: [3, 3, 32, 1],
      strides: 1,
      pad: 'valid',
    },
    {
      name: '3×3 stride 2, 16 → 1, 40 wide',
      x: [2, 6, 40, 16],
      f: [3, 3, 16, 1],
      strides: 2,
      pad: 'same',
    },
    {
      name: '3×3 stride 2, 1 → 16, 28 wide',
      x: [2, 6, 28, 1],
      f: [3, 3, 1, 16],
      strides: 2,
      pad: 'same',
    },
    {
      name: '3×3 same, 1 → 32, 13 wide',
      x: [2, 5, 13, 1],
      f: [3, 3, 1, 32],
      strides: 1,
      pad: 'same',
    },
    {
      name: '5×3 dilated 1×2, 16 → 1, 30 wide',
      x: [2, 9, 30, 16],
      f: [5, 3, 16, 1],
      strides: 1,
      pad: 'same',
      dilations: 2,
    },
    {
      name: '3×3 dilated, 1 → 16, 30 wide',
      x: [2, 7, 30, 1],
      f: [3, 3, 1, 16],
      strides: 1,
      pad: 'same',
      dilations: 2,
    },
    // over 256 output rows: the filter gradient summed in parts across threads
    {
      name: '3×3 same, 8 → 16, 4×16×16',
      x: [4, 16, 16, 8],
      f: [3, 3, 8, 16],
      strides: 1,
      pad: 'same',
    },
    { name: '3×3 same, 24 → 3', x: [3, 6, 5, 24], f: [3, 3, 24, 3], strides: 1, pad: 'same' },
    { name: '3×3 stride 2, 3 → 24', x: [2, 11, 10, 3], f: [3, 3, 3, 24], strides: 2, pad: 'same' },
    { name: '4×4 same on 4×4, 7 → 8', x: [2, 4, 4, 7], f: [4, 4, 7, 8], strides: 1, pad: 'same' },
    {
      name: '5×3 valid strides 2,1, 6 → 16',
      x: [2, 11, 10, 6],
      f: [5, 3, 6, 16],
      strides: [2, 1],
      pad: 'valid',
    },
    {
      name: '3×3 dilation 2, 3 → 8',
      x: [2, 12, 12, 3],
      f: [3, 3, 3, 8],
      strides: 1,
      pad: 'same',
      dilations: 2,
    },
    {
      name: 'explicit padding, 4 → 16',
      x: [2, 7, 8, 4],
      f: [3, 2, 4, 16],
      strides: 1,
      pad: [
        [0, 0],
        [2, 0],
        [0, 1],
        [0, 0],
      ],
    },
    // one output or one input channel: the direct (thin) loops instead of im2col + sgemm
    {
      name: 'one output channel, 3×3 same',
      x: [3, 9, 9, 19],
      f: [3, 3, 19, 1],
      strides: 1,
      pad: 'same',
    },
    {
      name: 'one input channel, 4×4 stride 2',
      x: [2, 14, 14, 1],
      f: [4, 4, 1, 6],
      strides: 2,
      pad: 'same',
    },
    {
      name: 'one in, one out, 5×3 valid',
      x: [2, 11, 10, 1],
      f: [5, 3, 1, 1],
      strides: [2, 1],
      pad: 'valid',
    },
    {
      name: 'one output channel, dilation 2',
      x: [2, 12, 12, 5],
      f: [3, 3, 5, 1],
      strides: 1,
      pad: 'same',
      dilations: 2,
    },
    {
      name: 'explicit padding',
      x: [1, 7, 8, 2],
      f: [3, 2, 2, 3],
      strides: 2,
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: forward matches cpu`, async () => {
      await expectMatchesCpu({ x: c.x, f: c.f }, ({ x, f }) =>
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations ?? 1),
      );
    });
    if (c.dilations === undefined) {
      it(`${c.name}: input and filter gradients match cpu`, async () => {
        await expectMatchesCpu({ x: c.x, f: c.f }, ({ x, f }) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))),
          )([x, f]),
        );
      });
    }
  }

  it('the AVX2 direct loops (SCULPT_NATIVE_AVX512=0) match cpu too', async () => {
    process.env.SCULPT_NATIVE_AVX512 = '0';
    try {
      for (const f of [
        [3, 3, 16, 32],
        [3, 3, 32, 16],
        [3, 3, 5, 24],
      ]) {
        await expectMatchesCpu({ x: [2, 9, 7, f[2]], f }, ({ x, f }) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
          )([x, f]),
        );
      }
    } finally {
      delete process.env.SCULPT_NATIVE_AVX512;
    }
  });

  it('fuses bias and relu', async () => {
    await expectMatchesCpu({ x: [2, 8, 8, 3], f: [3, 3, 3, 4], bias: [4] }, ({ x, f, bias }) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: f as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias,
        activation: 'relu',
      }),
    );
  });

  it('conv2dTranspose (4×4, stride 2) matches cpu', async () => {
    await expectMatchesCpu({ x: [2, 7, 7, 6], f: [4, 4, 3, 6] }, ({ x, f }) =>
      tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [2, 14, 14, 3], 2, 'same'),
    );
  });

  it('gives the same numbers on one thread and on two', async () => {
    const shapes = { x: [8, 16, 16, 16], f: [3, 3, 16, 32] };
    const conv = ({ x, f }: Record<string, tf.Tensor>) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
      )([x, f]);
    setNativeThreads(1);
    const one = await run('wasm', shapes, conv);
    setNativeThreads(2);
    const two = await run('wasm', shapes, conv);
    for (let i = 0; i < one.length; i++) {
      for (let j = 0; j < one[i].length; j += 97) {
        expect(two[i][j]).toBeCloseTo(one[i][j], 2);
      }
    }
  });

  it('survives resizing its thread pool between calls', async () => {
    const shapes = { x: [4, 12, 12, 8], f: [3, 3, 8, 8] };
    const conv = ({ x, f }: Record<string, tf.Tensor>) =>
      tf.add(
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'),
        tf.sum(tf.ones([4, 128, 1024])),
      );
    const want = await run('wasm', shapes, conv);
    for (const threads of [1, 3, 2, 2, 1, 2]) {
      setNativeThreads(threads);
      const got = await run('wasm', shapes, conv);
      expect(got[0][7]).toBeCloseTo(want[0][7], 3);
    }
  });

  it('leaks no tensor through a forward and backward pass', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
    await expectNoLeak(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.matMul(
            tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')),
            tf.ones([4, 2]),
          ),
        ),
      )([x, f]),
    );
    tf.dispose([x, f]);
  });
});

describe('unregisterNativeKernels', () => {
  it('puts back the kernels it replaced, and registering again works', () => {
    unregisterNativeKernels();
    const back = tf.getKernel('Conv2D', 'wasm') as unknown as Record<symbol, unknown>;
    expect(back[Symbol.for('sculpt.nativeReplaced')]).toBeUndefined();
    registerNativeKernels();
    const again = tf.getKernel('Conv2D', 'wasm') as unknown as Record<symbol, unknown>;
    expect(again[Symbol.for('sculpt.nativeReplaced')]).toBeDefined();
  });
});

describe('elementwise and copies', () => {
  const shapes: [number[], number[]][] = [
    [
      [64, 9, 9, 8, 4],
      [64, 1, 1, 8, 1],
    ],
    [
      [64, 1, 1, 8, 1],
      [64, 9, 9, 8, 4],
    ],
    [[33, 70, 5], [5]],
    [
      [7, 1, 300],
      [1, 20, 300],
    ],
    [[9000], []],
    [
      [150, 60],
      [150, 60],
    ],
  ];
  const ops = {
    add: tf.add,
    sub: tf.sub,
    mul: tf.mul,
    div: (a: tf.Tensor, b: tf.Tensor) => tf.div(a, tf.add(tf.abs(b), 0.5)),
  };
  for (const [name, op] of Object.entries(ops)) {
    it(`${name} with broadcasting matches cpu`, async () => {
      for (const [a, b] of shapes) {
        await expectMatchesCpu({ a, b }, ({ a, b }) => op(a, b));
      }
    });
  }

  it('broadcast gradients (reductions of dy) match cpu', async () => {
    await expectMatchesCpu({ a: [64, 9, 9, 8, 4], b: [64, 1, 1, 8, 1] }, ({ a, b }) =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.mul(tf.sub(x, y), y))))([a, b]),
    );
  });

  it('concat and split along every axis match cpu, with their gradients', async () => {
    for (const axis of [0, 1, 2, 3]) {
      const shapeA = [8, 12, 10, 6];
      const shapeB = [...shapeA];
      shapeB[axis] = 3;
      await expectMatchesCpu({ a: shapeA, b: shapeB }, ({ a, b }) => {
        const c = tf.concat([a, b], axis);
        return [c, ...tf.split(c, [2, shapeA[axis] + 1], axis)];
      });
      await expectMatchesCpu({ a: shapeA, b: shapeB }, ({ a, b }) =>
        tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.concat([x, y], axis))))([
          a,
          b,
        ]),
      );
    }
  });

  it('sqrt, rsqrt, square, neg, abs and relu match cpu', async () => {
    await expectMatchesCpu({ x: [70, 300] }, ({ x }) => {
      const pos = tf.add(tf.abs(x), 0.1);
      return [tf.sqrt(pos), tf.rsqrt(pos), tf.square(x), tf.neg(x), tf.abs(x), tf.relu(x)];
    });
  });

  it('exp, sigmoid, tanh, softplus (polynomial e^x, ln x) and leakyRelu match cpu, also in the tails', async () => {
    // Small tensors too: the transcendental ones run in the addon at every size.
    await expectMatchesCpu(
      { x: [1, 7] },
      ({ x }) => [tf.exp(x), tf.sigmoid(x), tf.tanh(tf.mul(x, 60)), tf.softplus(x)],
      2e-6,
    );
    await expectMatchesCpu(
      { x: [140, 300] }, // past 2 × 16K elements: split over the threads
      ({ x }) => {
        const wide = tf.mul(x, 60); // −60 … 60: both tails and the overflow clamp
        return [
          tf.sigmoid(x),
          tf.sigmoid(wide),
          tf.tanh(x),
          tf.tanh(wide),
          tf.leakyRelu(x, 0.2),
          tf.softplus(tf.mul(x, 5)),
          tf.softplus(wide),
          tf.exp(x),
          tf.exp(tf.mul(x, 20)), // relative error where e^x is large, absolute near 0
        ];
      },
      2e-6,
    );
    await expectMatchesCpu({ x: [70, 300] }, ({ x }) =>
      tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(t), tf.tanh(t))))([x]),
    );
  });

  it('sum and mean over leading, trailing, inner and all axes match cpu', async () => {
    const shape = [6, 20, 30, 7];
    for (const axis of [0, 3, [1, 2], [0, 1], [2, 3], [0, 1, 2, 3], [1, 3]]) {
      for (const keepDims of [false, true]) {
        await expectMatchesCpu({ x: shape }, ({ x }) => [
          tf.sum(x, axis, keepDims),
          tf.mean(x, axis, keepDims),
        ]);
      }
    }
  });

  it('leaks no tensor and no wasm memory through multi-pass reductions and broadcasts', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([16, 14, 14, 8, 4]);
    const y = tf.randomNormal([16, 1, 1, 8, 1]);
    const bytes = tf.memory().numBytes;
    await expectNoLeak(() =>
      tf.tidy(() => [
        tf.sum(x, [1, 2, 4], true),
        tf.mean(x, [0, 2, 4]),
        tf.mul(tf.sub(x, y), y),
        ...tf.split(tf.concat([x, x], 3), 2, 3),
      ]),
    );
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([x, y]);
  });

  it('unstack and gather (with their gradients) match cpu; a bad index raises the tfjs error', async () => {
    await expectMatchesCpu({ x: [12, 3, 64, 32] }, ({ x }) => tf.unstack(x, 1));
    await expectMatchesCpu({ x: [6, 40, 30] }, ({ x }) => tf.unstack(x, 2));
    const ids = tf.tensor1d([3, 0, 64, 3, 7], 'int32');
    await expectMatchesCpu({ x: [65, 128] }, ({ x }) => [
      tf.gather(x, ids),
      tf.gather(
        x,
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
          ],
          [2, 2],
          'int32',
        ),
        1,
      ),
      ...tf.grads((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, ids))))([x]),
    ]);
    await tf.setBackend('wasm');
    const table = tf.ones([65, 128]);
    const bad = tf.tensor1d([1, 65], 'int32');
    const before = tf.memory().numBytes;
    expect(() => tf.gather(table, bad)).toThrow(/not in \[0, 64\]/);
    expect(tf.memory().numBytes).toBe(before);
    tf.dispose([ids, table, bad]);
  });

  it('greater and select (leakyRelu and its gradient) match cpu, scalar on either side', async () => {
    await expectMatchesCpu({ x: [64, 9, 9, 8], y: [64, 9, 9, 8], s: [] }, ({ x, y, s }) => [
      tf.cast(tf.greater(x, 0), 'float32'),
      tf.cast(tf.greater(s, x), 'float32'),
      tf.cast(tf.greater(x, y), 'float32'),
      tf.where(tf.greater(x, y), x, y),
      tf.where(
        tf.reshape(tf.greater(x, 0), [64, 81, 8]),
        tf.reshape(x, [64, 81, 8]),
        tf.onesLike(tf.reshape(x, [64, 81, 8])),
      ),
      ...tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, 0.2), y)))([x]),
    ]);
    // cases left to wasm: broadcasting, an int32 comparison
    await expectMatchesCpu({ x: [64, 9, 9, 8], b: [8], c: [64, 1, 1, 1] }, ({ x, b, c }) => [
      tf.cast(tf.greater(x, b), 'float32'),
      tf.where(tf.greater(c, 0), x, tf.neg(x)),
      tf.cast(tf.greater(tf.cast(tf.mul(x, 4), 'int32'), 1), 'float32'),
    ]);
  });

  it('leaks no tensor and no wasm memory through greater and select', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([32, 16, 16, 4]);
    await expectNoLeak(() => tf.grads((t: tf.Tensor) => tf.sum(tf.leakyRelu(t, 0.2)))([x]));
    const bytes = tf.memory().numBytes;
    tf.tidy(() => {
      tf.where(tf.greater(x, 0), x, tf.zerosLike(x));
    });
    expect(tf.memory().numBytes).toBe(bytes);
    x.dispose();
  });

  it('bilinear resize (every corner and centre mode) and its gradient match cpu', async () => {
    for (const [alignCorners, halfPixelCenters] of [
      [false, true],
      [false, false],
      [true, false],
    ]) {
      for (const [shape, size] of [
        [
          [8, 7, 7, 32],
          [14, 14],
        ],
        [
          [8, 14, 14, 16],
          [28, 28],
        ],
        [
          [4, 12, 9, 8],
          [30, 17],
        ],
        [
          [4, 28, 28, 8],
          [14, 14],
        ],
      ] as [number[], [number, number]][]) {
        // cpu's gradient declares [B, W, H, C] (a tfjs slip): gradients of square images only
        const square = shape[1] === shape[2];
        const resize = (t: tf.Tensor) =>
          tf.image.resizeBilinear(t as tf.Tensor4D, size, alignCorners, halfPixelCenters);
        await expectMatchesCpu({ x: shape }, ({ x }) => [
          resize(x),
          ...(square ? tf.grads((t: tf.Tensor) => tf.sum(tf.square(resize(t))))([x]) : []),
        ]);
      }
    }
  });

  it('leaks no tensor through a bilinear resize and its gradient', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([8, 7, 7, 32]) as tf.Tensor4D;
    await expectNoLeak(() =>
      tf.grads((t: tf.Tensor) =>
        tf.sum(tf.image.resizeBilinear(t as tf.Tensor4D, [14, 14], false, true)),
      )([x]),
    );
    x.dispose();
  });

  it('int32 arithmetic still goes to wasm', async () => {
    await tf.setBackend('wasm');
    const x = tf.range(0, 5000, 1, 'int32');
    const y = tf.add(x, x);
    expect(y.dtype).toBe('int32');
    expect(y.dataSync()[4999]).toBe(9998);
    tf.dispose([x, y]);
  });
});
