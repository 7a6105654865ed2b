import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { beforeAll, describe, expect, it } from 'vitest';
import { quantize, stopGradient } from './quantizer.js';

let z: tf.Tensor2D;
let codebook: tf.Tensor2D;
let weights: tf.Tensor; // a loss that weighs every output differently
beforeAll(async () => {
  await initBackend('wasm');
  const rng = new Rng(3);
  z = rng.normal([300, 8]) as tf.Tensor2D;
  codebook = rng.normal([16, 8]) as tf.Tensor2D;
  weights = rng.normal([300, 8]);
});

/** The textbook formulation with explicit stop-gradients (van den Oord et al. 2017, eq. 3). */
function reference(z: tf.Tensor2D, codebook: tf.Tensor2D) {
  const zs = stopGradient(z);
  const zz = tf.sum(tf.square(zs), 1, true);
  const ee = tf.reshape(tf.sum(tf.square(codebook), 1), [1, codebook.shape[0]]);
  const d = tf.add(tf.sub(zz, tf.mul(2, tf.matMul(zs, tf.transpose(codebook)))), ee);
  const indices = tf.argMin(d, 1);
  const e = stopGradient(
    tf.matMul(tf.cast(tf.oneHot(indices, codebook.shape[0]), 'float32'), codebook),
  );
  const quantized = tf.add(z, stopGradient(tf.sub(e, zs)));
  return { indices, quantized, commitment: tf.mean(tf.square(tf.sub(z, e))) };
}

describe('quantize', () => {
  // loss = Σ w·quantized + 0.25·commitment, as a VQ-VAE step has both terms
  const loss = (q: { quantized: tf.Tensor; commitment: tf.Tensor }) =>
    tf.add(tf.sum(tf.mul(q.quantized, weights)), tf.mul(0.25, q.commitment)) as tf.Scalar;

  it('gives the reference formulation’s codes, values and gradient to z, bit for bit', () => {
    const got = tf.tidy(() => {
      const q = quantize(z, codebook);
      const dz = tf.grad((x: tf.Tensor) => loss(quantize(x as tf.Tensor2D, codebook)))(z);
      return [q.indices, q.quantized, q.commitment, dz].map((t) => Array.from(t.dataSync()));
    });
    const want = tf.tidy(() => {
      const q = reference(z, codebook);
      const dz = tf.grad((x: tf.Tensor) => loss(reference(x as tf.Tensor2D, codebook)))(z);
      return [q.indices, q.quantized, q.commitment, dz].map((t) => Array.from(t.dataSync()));
    });
    expect(new Set(got[0]).size).toBeGreaterThan(4); // many codes in play
    expect(got).toEqual(want);
  });

  it('leaks no tensor forward or backward; the caller owns what it returns', async () => {
    await expectNoLeak(() => quantize(z, codebook));
    await expectNoLeak(() =>
      tf.grad((x: tf.Tensor) => loss(quantize(x as tf.Tensor2D, codebook)))(z),
    );
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      quantize(z, codebook); // dropped: the enclosing tidy frees all of it
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
