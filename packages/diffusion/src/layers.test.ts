import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AddEmbedding,
  ClassEmbedding,
  GroupNormalization,
  PixelShuffle,
  SelfAttention2D,
  SinusoidalEmbedding,
  Upsample2x,
} from './layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const at = (a: Float32Array, shape: number[], ...idx: number[]) => {
  let o = 0;
  for (let i = 0; i < shape.length; i++) o = o * shape[i] + idx[i];
  return a[o];
};

/** Straight-loop GroupNorm over NHWC (float64). */
function referenceGroupNorm(
  x: Float32Array,
  [B, H, W, C]: number[],
  G: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
): Float64Array {
  const out = new Float64Array(x.length);
  const cg = C / G;
  for (let b = 0; b < B; b++)
    for (let g = 0; g < G; g++) {
      let sum = 0;
      let sq = 0;
      const n = H * W * cg;
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let k = 0; k < cg; k++) sum += at(x, [B, H, W, C], b, h, w, g * cg + k);
      const mean = sum / n;
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let k = 0; k < cg; k++) sq += (at(x, [B, H, W, C], b, h, w, g * cg + k) - mean) ** 2;
      const inv = 1 / Math.sqrt(sq / n + eps);
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let k = 0; k < cg; k++) {
            const c = g * cg + k;
            const i = ((b * H + h) * W + w) * C + c;
            out[i] = (x[i] - mean) * inv * gamma[c] + beta[c];
          }
    }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('GroupNormalization', () => {
  it('matches a loop reference with non-trivial gamma/beta', async () => {
    const rng = new Rng(1);
    const shape = [2, 3, 5, 8];
    const x = tf.add(tf.mul(rng.normal(shape), 3), 1.5);
    const layer = new GroupNormalization({ groups: 4, epsilon: 1e-5 });
    layer.build(shape);
    const gamma = rng.normalArray(8);
    const beta = rng.normalArray(8);
    layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const y = layer.apply(x) as tf.Tensor;
    const ref = referenceGroupNorm(x.dataSync() as Float32Array, shape, 4, gamma, beta, 1e-5);
    expect(maxAbsDiff(y.dataSync(), ref)).toBeLessThan(1e-4);
    tf.dispose([x, y]);
  });

  it('round-trips its config and is leak-free', async () => {
    const layer = new GroupNormalization({ groups: 2, epsilon: 1e-3, name: 'gn' });
    const copy = new GroupNormalization(layer.getConfig() as never);
    expect(copy.getConfig()).toEqual(layer.getConfig());
    const x = tf.ones([1, 2, 2, 4]);
    layer.apply(x); // build
    await expectNoLeak(() => layer.apply(x) as tf.Tensor);
    x.dispose();
  });

  it('with silu: true applies x·σ(x) after the norm, and round-trips it', async () => {
    const layer = new GroupNormalization({ groups: 2, silu: true, name: 'gn_act' });
    const plain = new GroupNormalization({ groups: 2, name: 'gn' });
    const copy = new GroupNormalization(layer.getConfig() as never);
    expect(copy.getConfig()).toEqual(layer.getConfig());
    expect(copy.silu).toBe(true);
    expect(plain.getConfig()).not.toHaveProperty('silu'); // older configs read the same
    const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 5);
    const y = layer.apply(x) as tf.Tensor;
    const z = plain.apply(x) as tf.Tensor;
    const want = tf.mul(z, tf.sigmoid(z));
    expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThan(1e-6);
    await expectNoLeak(() => layer.apply(x) as tf.Tensor);
    tf.dispose([x, y, z, want]);
  });

  it('rejects channels not divisible by groups', () => {
    const layer = new GroupNormalization({ groups: 3 });
    expect(() => layer.build([1, 2, 2, 4])).toThrow(
      /GroupNormalization.build: expected channels divisible by groups=3, got 4 channels/,
    );
  });
});

/** Loop reference of pre-norm multi-head self-attention with a residual (float64). */
function referenceAttention(
  x: Float32Array,
  [B, H, W, C]: number[],
  heads: number,
  w: Record<string, Float32Array>,
  groups: number,
): Float64Array {
  const N = H * W;
  const d = C / heads;
  const normed = referenceGroupNorm(x, [B, H, W, C], groups, w.gamma, w.beta, 1e-5);
  const out = Float64Array.from(x);
  for (let b = 0; b < B; b++) {
    const qkv = Array.from({ length: N }, (_, n) => {
      const row = new Float64Array(3 * C);
      for (let j = 0; j < 3 * C; j++) {
        let s = w.qkvBias[j];
        for (let c = 0; c < C; c++) s += normed[(b * N + n) * C + c] * w.qkv[c * 3 * C + j];
        row[j] = s;
      }
      return row;
    });
    const attended = Array.from({ length: N }, () => new Float64Array(C));
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < N; i++) {
        const scores = new Float64Array(N);
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += qkv[i][h * d + k] * qkv[j][C + h * d + k];
          scores[j] = s / Math.sqrt(d);
        }
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < N; j++)
          for (let k = 0; k < d; k++)
            attended[i][h * d + k] += (e[j] / z) * qkv[j][2 * C + h * d + k];
      }
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        let s = w.projBias[c];
        for (let k = 0; k < C; k++) s += attended[n][k] * w.proj[k * C + c];
        out[(b * N + n) * C + c] += s;
      }
  }
  return out;
}

describe('SelfAttention2D', () => {
  it.each([1, 2])('matches a loop reference (%i heads)', (heads) => {
    const rng = new Rng(3 + heads);
    const shape = [2, 3, 2, 8];
    const C = 8;
    const x = rng.normal(shape);
    const layer = new SelfAttention2D({ numHeads: heads, groups: 2 });
    layer.build(shape);
    const w = {
      gamma: rng.normalArray(C),
      beta: rng.normalArray(C),
      qkv: rng.normalArray(C * 3 * C, 0, 0.4),
      qkvBias: rng.normalArray(3 * C, 0, 0.1),
      proj: rng.normalArray(C * C, 0, 0.4),
      projBias: rng.normalArray(C, 0, 0.1),
    };
    layer.setWeights([
      tf.tensor1d(w.gamma),
      tf.tensor1d(w.beta),
      tf.tensor2d(w.qkv, [C, 3 * C]),
      tf.tensor1d(w.qkvBias),
      tf.tensor2d(w.proj, [C, C]),
      tf.tensor1d(w.projBias),
    ]);
    const y = layer.apply(x) as tf.Tensor;
    const ref = referenceAttention(x.dataSync() as Float32Array, shape, heads, w, 2);
    expect(maxAbsDiff(y.dataSync(), ref)).toBeLessThan(1e-4);
    expect(maxAbsDiff(y.dataSync(), x.dataSync())).toBeGreaterThan(0.1); // the attention branch did something
    tf.dispose([x, y]);
  });

  it('starts as the identity (zero output projection)', () => {
    const x = new Rng(0).normal([1, 2, 2, 4]);
    const layer = new SelfAttention2D({ numHeads: 2, groups: 2 });
    const y = layer.apply(x) as tf.Tensor;
    expect(maxAbsDiff(y.dataSync(), x.dataSync())).toBe(0);
    tf.dispose([x, y]);
  });
});

describe('small layers', () => {
  it('Upsample2x repeats each pixel 2×2', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const y = new Upsample2x({}).apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 4, 4, 2]);
    const v = y.arraySync() as number[][][][];
    expect(v[0][0][0]).toEqual([1, 2]);
    expect(v[0][1][1]).toEqual([1, 2]);
    expect(v[0][0][2]).toEqual([3, 4]);
    expect(v[0][3][3]).toEqual([7, 8]);
    tf.dispose([x, y]);
  });

  it('PixelShuffle puts channel (i·f + j)·C + c at sub-pixel (i, j)', () => {
    const [B, H, W, C, f] = [2, 3, 2, 2, 2];
    const x = tf.tensor4d(
      Float32Array.from({ length: B * H * W * C * f * f }, (_, i) => i),
      [B, H, W, C * f * f],
    );
    const y = new PixelShuffle({ factor: f }).apply(x) as tf.Tensor;
    expect(y.shape).toEqual([B, H * f, W * f, C]);
    const xv = x.arraySync() as number[][][][];
    const yv = y.arraySync() as number[][][][];
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let i = 0; i < f; i++)
            for (let j = 0; j < f; j++)
              for (let c = 0; c < C; c++)
                expect(yv[b][h * f + i][w * f + j][c]).toBe(xv[b][h][w][(i * f + j) * C + c]);
    tf.dispose([x, y]);
  });

  it('SinusoidalEmbedding gives [cos(t f_i), sin(t f_i)]', () => {
    const t = tf.tensor2d([0, 3], [2, 1]);
    const y = new SinusoidalEmbedding({ dim: 4, maxPeriod: 100 }).apply(t) as tf.Tensor;
    const f = [1, 100 ** -0.5];
    const want = [
      1,
      1,
      0,
      0,
      Math.cos(3 * f[0]),
      Math.cos(3 * f[1]),
      Math.sin(3 * f[0]),
      Math.sin(3 * f[1]),
    ];
    expect(maxAbsDiff(y.dataSync(), want)).toBeLessThan(1e-6);
    tf.dispose([t, y]);
  });

  it('ClassEmbedding looks up rows and has a gradient', () => {
    const layer = new ClassEmbedding({ numEmbeddings: 3, dim: 2 });
    layer.build([null, 1]);
    layer.setWeights([tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2])]);
    const ids = tf.tensor2d([2, 0], [2, 1]);
    const y = layer.apply(ids) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([5, 6, 1, 2]);
    const table = layer.getWeights()[0];
    const g = tf.grad((w: tf.Tensor) =>
      tf.sum(tf.matMul(tf.cast(tf.oneHot(tf.tensor1d([2, 0], 'int32'), 3), 'float32'), w)),
    )(table);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 0, 0, 1, 1]);
    tf.dispose([ids, y, g]);
  });

  it('every custom layer is registered under @sculpt/diffusion> (deserialised by bare className)', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    for (const cls of [
      GroupNormalization,
      SinusoidalEmbedding,
      ClassEmbedding,
      AddEmbedding,
      Upsample2x,
      PixelShuffle,
      SelfAttention2D,
    ]) {
      expect(tf.serialization.getRegisteredName(cls)).toBe(`@sculpt/diffusion>${cls.className}`);
      expect(map[cls.className]?.[0]).toBe(cls);
    }
    void tfl;
  });
});
