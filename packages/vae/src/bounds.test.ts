// ELBO and IWAE against a hand computation on a model with known weights.
//
// Every weight of the tiny MLP VAE is 0 except three biases: the encoder's
// mean bias m and log-variance bias v (so q(z|x) = N(m, e^v) for every x) and
// the decoder's output bias b (so the logits are b whatever z is). Then, per
// 8×8 bars image with 8 pixels on,
//   log p(x|z) = Σ_p x_p·b − softplus(b) = 8b − 64·softplus(b)      (any z)
//   KL         = ½·4·(m² + e^v − v − 1)                             (4 latents)
//   log p(x)   = log ∫ p(x|z) p(z) dz = log p(x|z)                  (exactly)
// so −ELBO = −log p(x|z) + KL, and −IWAE_k falls from −ELBO (k = 1, in
// expectation) to −log p(x) as k grows.
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { barsFixture } from './fixture.test-util.js';
import { elboTerms, evaluateBounds, VaeModel } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const softplus = (v: number) => Math.log1p(Math.exp(v));

/** The tiny VAE with every weight 0 but the biases enc/mean = m, enc/logvar = v, dec/out = b. */
function knownModel(m: number, v: number, b: number): VaeModel {
  const model = VaeModel.create('tiny', { seed: 0 });
  for (const [name, p] of Object.entries(model.params)) {
    const value =
      name === 'enc/mean/b' ? m : name === 'enc/logvar/b' ? v : name === 'dec/out/b' ? b : 0;
    tf.tidy(() => p.assign(tf.fill(p.shape, value)));
  }
  return model;
}

describe('bounds on a model with known weights', () => {
  const [m, v, b] = [0.3, -0.2, 0.5];
  const logPx = 8 * b - 64 * softplus(b); // −58.34 nats
  const kl = 0.5 * 4 * (m * m + Math.exp(v) - v - 1); // 0.2175 nats

  it('elboTerms gives the hand-computed reconstruction and KL for every image', () => {
    const model = knownModel(m, v, b);
    const x = barsFixture();
    const t = elboTerms(model, x, new Rng(0));
    for (const r of t.recon.dataSync()) expect(r).toBeCloseTo(logPx, 3);
    for (const k of t.kl.dataSync()) expect(k).toBeCloseTo(kl, 5);
    for (const d of t.klDims.dataSync()) expect(d).toBeCloseTo(kl / 4, 5);
    tf.dispose([x, t.recon, t.kl, t.klDims]);
    model.dispose();
  });

  it('evaluateBounds: −ELBO = −log p(x|z) + KL; −IWAE_5000 closes the gap to −log p(x)', async () => {
    const model = knownModel(m, v, b);
    const x = barsFixture();
    const r1 = await evaluateBounds(model, x, new Rng(1), { k: 1 });
    const r = await evaluateBounds(model, x, new Rng(1), { k: 5000 });
    expect(r.negElbo).toBeCloseTo(-logPx + kl, 3);
    expect(r.recon).toBeCloseTo(logPx, 3);
    expect(r.kl).toBeCloseTo(kl, 5);
    // k = 1 is a one-sample ELBO estimate: the log-weight is log p(x) + log p(z)/q(z), mean −KL.
    expect(Math.abs(r1.negIwae - r1.negElbo)).toBeLessThan(1);
    expect(r.negIwae).toBeLessThan(r.negElbo);
    expect(r.negIwae).toBeCloseTo(-logPx, 1); // within 0.05 nats of the exact −log p(x)
    expect(r.bitsPerDim).toBeCloseTo(r.negIwae / (64 * Math.LN2), 6);
    tf.dispose(x);
    model.dispose();
  });

  it('with q = p the bounds are tight: −IWAE = −ELBO = −log p(x) for any k', async () => {
    const model = knownModel(0, 0, b);
    const x = barsFixture();
    for (const k of [1, 7]) {
      const r = await evaluateBounds(model, x, new Rng(k), { k });
      expect(r.kl).toBeCloseTo(0, 6);
      expect(r.negElbo).toBeCloseTo(-logPx, 3);
      expect(r.negIwae).toBeCloseTo(-logPx, 3);
    }
    tf.dispose(x);
    model.dispose();
  });
});
