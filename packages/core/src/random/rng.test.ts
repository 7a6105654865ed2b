import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak } from '../testing/index.js';
import { Rng } from './rng.js';
import { threefry2x32 } from './threefry.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('threefry2x32', () => {
  // Known-answer vectors from the Random123 distribution (also used by JAX's tests).
  it.each([
    [
      [0, 0],
      [0, 0],
      [0x6b200159, 0x99ba4efe],
    ],
    [
      [0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x1cb996fc, 0xbb002be7],
    ],
    [
      [0x13198a2e, 0x03707344],
      [0x243f6a88, 0x85a308d3],
      [0xc4923a9c, 0x483df7a0],
    ],
  ])('key %j counter %j → %j', (key, ctr, expected) => {
    const out = new Uint32Array(2);
    threefry2x32(key[0], key[1], ctr[0], ctr[1], out, 0);
    expect(Array.from(out)).toEqual(expected);
  });
});

describe('Rng', () => {
  it('gives the same numbers for the same seed and different ones for another', () => {
    const a = new Rng(7).normalArray(100);
    const b = new Rng(7).normalArray(100);
    const c = new Rng(8).normalArray(100);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('resumes exactly from a saved state', () => {
    const rng = new Rng(3);
    rng.uniformArray(17);
    const state = JSON.parse(JSON.stringify(rng.getState()));
    const next = rng.normalArray(33);
    expect(Rng.fromState(state).normalArray(33)).toEqual(next);
  });

  it('has the right moments', () => {
    const rng = new Rng(1);
    const n = 200_000;
    const z = rng.normalArray(n);
    let m = 0;
    let v = 0;
    for (const x of z) m += x / n;
    for (const x of z) v += (x - m) ** 2 / n;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
    const u = rng.uniformArray(n, -2, 2);
    let mu = 0;
    for (const x of u) mu += x / n;
    expect(Math.abs(mu)).toBeLessThan(0.02);
    expect(u.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(-2);
    expect(u.reduce((a, b) => Math.max(a, b))).toBeLessThan(2);
  });

  it('splits into independent streams that differ from the parent', () => {
    const parent = new Rng(5);
    const [a, b] = parent.split(2);
    const xa = a.uint32(64);
    const xb = b.uint32(64);
    const xp = parent.uint32(64);
    expect(xa).not.toEqual(xb);
    expect(xa).not.toEqual(xp);
    // splitting is deterministic
    const [a2] = new Rng(5).split(2);
    expect(a2.uint32(64)).toEqual(xa);
  });

  it('draws categorical samples with the right frequencies', async () => {
    const rng = new Rng(11);
    const probs = [0.1, 0.2, 0.7];
    const logits = tf.tensor2d([probs.map(Math.log)]);
    const draws = rng.categorical(logits, 20_000);
    const counts = [0, 0, 0];
    for (const k of await draws.data()) counts[k]++;
    counts.forEach((c, k) => expect(Math.abs(c / 20_000 - probs[k])).toBeLessThan(0.015));
    tf.dispose([logits, draws]);
  });

  it('draws bernoulli with tensor probabilities', async () => {
    const rng = new Rng(2);
    const p = tf.fill([10_000], 0.3);
    const x = rng.bernoulli(p);
    expect((await tf.mean(x).data())[0]).toBeCloseTo(0.3, 1);
    tf.dispose([p, x]);
  });

  it('makes permutations and integers in range', () => {
    const rng = new Rng(9);
    const perm = Array.from(rng.permutation(50)).sort((a, b) => a - b);
    expect(perm).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const ints = rng.integers(1000, 3, 7);
    expect(Math.min(...ints)).toBe(3);
    expect(Math.max(...ints)).toBe(6);
  });

  it('does not leak tensors', async () => {
    const rng = new Rng(4);
    const logits = tf.zeros([2, 5]) as tf.Tensor2D;
    await expectNoLeak(() => [
      rng.normal([3, 4]),
      rng.uniform([5]),
      rng.bernoulli(0.5, [4]),
      rng.bernoulli(logits),
      rng.categorical(logits, 3),
    ]);
    logits.dispose();
  });

  it('rejects bad input with a clear error', () => {
    expect(() => new Rng(-1)).toThrow(/Rng: seed must be a non-negative safe integer, got -1/);
    expect(() => new Rng(1).normal([2, -3])).toThrow(/shape must hold non-negative integers/);
    expect(() => Rng.fromState({ key: [1, 2] } as never)).toThrow(/rng.getState\(\)/);
    expect(() => new Rng(1).split(0)).toThrow(/positive integer/);
  });
});
