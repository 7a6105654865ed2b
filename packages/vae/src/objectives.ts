// ELBO (analytic KL), IWAE bound, bits/dim.
//   ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)),
//   KL = ½ Σ_d (μ_d² + σ_d² − log σ_d² − 1)                    (Kingma & Welling 2014, app. B)
//   IWAE_k(x) = log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q  (Burda et al. 2016, eq. 8)
import { DiagonalNormal, type Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { VaeModel } from './model.js';
import { checkImageBatchAsync, type EncodeOptions } from './shared.js';

/** Per-dimension analytic KL(N(μ, σ²) ‖ N(0, 1)), `[B, D]` nats. The caller owns it. */
export function klPerDim(mean: tf.Tensor, logVar: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(0.5, tf.sub(tf.sub(tf.add(tf.square(mean), tf.exp(logVar)), logVar), 1)),
  );
}

/** Per-image terms of one ELBO estimate (single reparameterised sample). Tensors `[B]`; the caller owns them. */
export interface ElboTerms {
  /** log p(x|z) per image, nats. */
  recon: tf.Tensor1D;
  /** KL(q(z|x) ‖ p(z)) per image, nats (0 for an AE). */
  kl: tf.Tensor1D;
  /** Per-dimension KL averaged over the batch, `[D]` (for free bits and active units). */
  klDims: tf.Tensor1D;
}

/**
 * One-sample ELBO terms: z = μ + σε from `rng` (an AE uses z = f(x)).
 * `options.checkPixels: false` skips the sync finiteness read (see `VaeModel.encodeParams`).
 * @returns tensors the caller owns.
 */
export function elboTerms(
  model: VaeModel,
  x: tf.Tensor,
  rng: Rng,
  options: EncodeOptions = {},
): ElboTerms {
  const { mean, logVar } = model.encodeParams(x, options);
  const eps = logVar ? rng.normal(mean.shape) : undefined;
  const out = tf.tidy(() => {
    const z = logVar && eps ? tf.add(mean, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps)) : mean;
    const recon = model.logLikelihood(x, model.decodeRaw(z));
    if (!logVar) {
      const zero = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      return { recon, kl: zero, klDims: tf.zeros([model.config.latentDim]) as tf.Tensor1D };
    }
    const kd = klPerDim(mean, logVar);
    return {
      recon,
      kl: tf.sum(kd, 1) as tf.Tensor1D,
      klDims: tf.mean(kd, 0) as tf.Tensor1D,
    };
  });
  tf.dispose([mean, logVar, eps]);
  return out;
}

/** Options of {@link evaluateBounds}. */
export interface BoundOptions {
  /** Importance samples for the IWAE bound (≥ 1). Default 1 (IWAE₁ = a one-sample ELBO estimate). */
  k?: number;
  /** Images per forward pass. Default 100. */
  batchSize?: number;
  /** Upper bound on k-chunk × batch latents decoded at once (memory bound). Default 20,000. */
  maxDecodes?: number;
}

/** Held-out likelihood figures, nats per image unless noted. */
export interface BoundReport {
  /** −ELBO with the analytic KL and a one-sample reconstruction estimate, mean over images. */
  negElbo: number;
  /** −IWAE_k, mean over images (≤ negElbo in expectation). */
  negIwae: number;
  /** The k used. */
  k: number;
  /** Mean reconstruction log-likelihood term (nats, ≤ 0 for Bernoulli). */
  recon: number;
  /** Mean KL term (nats). */
  kl: number;
  /** Latent dimensions with Cov_x(E_q[z_d]) > 0.01 (Burda et al. 2016, sec. 5.2). */
  activeUnits: number;
  /** negIwae / (pixels · ln 2). */
  bitsPerDim: number;
  /** Images evaluated. */
  count: number;
}

/**
 * Negative ELBO and the IWAE bound −log (1/k) Σ w_i on `images` `[N, H, W, C]`
 * (Bernoulli decoders: binarize the images first), batched so that at most
 * `maxDecodes` latents are decoded at once. Leak-free; numbers stay on the CPU
 * (float64 log-sum-exp across chunks).
 * @throws SculptError for k < 1 or a deterministic autoencoder.
 */
export async function evaluateBounds(
  model: VaeModel,
  images: tf.Tensor4D,
  rng: Rng,
  options: BoundOptions = {},
): Promise<BoundReport> {
  const where = 'evaluateBounds';
  const k = options.k ?? 1;
  if (!Number.isInteger(k) || k < 1)
    throw new SculptError(where, 'expected k an integer ≥ 1', `got ${k}`, 'pass e.g. { k: 5000 }');
  if (model.config.kind !== 'vae')
    throw new SculptError(
      where,
      "expected a VAE (kind 'vae')",
      "got kind 'ae'",
      'likelihood bounds need q(z|x)',
    );
  await checkImageBatchAsync(where, images, model.config.imageShape);
  const n = images.shape[0];
  const bs = Math.max(1, Math.min(options.batchSize ?? 100, n));
  const maxDecodes = options.maxDecodes ?? 20_000;
  const d = model.config.latentDim;
  let sumElbo = 0;
  let sumIwae = 0;
  let sumRecon = 0;
  let sumKl = 0;
  const means: Float32Array[] = [];
  for (let s = 0; s < n; s += bs) {
    const b = Math.min(bs, n - s);
    const x = tf.slice(images, [s, 0, 0, 0], [b, -1, -1, -1]);
    const t = elboTerms(model, x, rng, { checkPixels: false });
    const [r, kl] = [await t.recon.data(), await t.kl.data()];
    tf.dispose([t.recon, t.kl, t.klDims]);
    for (let i = 0; i < b; i++) {
      sumRecon += r[i];
      sumKl += kl[i];
      sumElbo += r[i] - kl[i];
    }
    const { mean, logVar } = model.encodeParams(x, { checkPixels: false });
    means.push((await mean.data()) as Float32Array);
    const q = new DiagonalNormal({ mean: mean.clone(), logVar: (logVar as tf.Tensor).clone() });
    const chunk = Math.max(1, Math.min(k, Math.floor(maxDecodes / b)));
    const best = new Float64Array(b).fill(-Infinity);
    const acc = new Float64Array(b);
    for (let done = 0; done < k; done += chunk) {
      const c = Math.min(chunk, k - done);
      const eps = rng.normal([c, b, d]);
      const logW = tf.tidy(() => {
        const z = tf.add(mean, tf.mul(tf.exp(tf.mul(0.5, logVar as tf.Tensor)), eps)); // [c, b, d]
        const logQ = q.logProb(z); // [c, b]
        const logPz = tf.sum(tf.sub(tf.mul(-0.5, tf.square(z)), 0.5 * Math.log(2 * Math.PI)), 2);
        const xs = tf.reshape(tf.tile(tf.expandDims(x, 0), [c, 1, 1, 1, 1]), [
          c * b,
          ...model.config.imageShape,
        ]);
        const logPx = tf.reshape(
          model.logLikelihood(xs, model.decodeRaw(tf.reshape(z, [c * b, d]))),
          [c, b],
        );
        return tf.sub(tf.add(logPx, logPz), logQ);
      });
      const w = await logW.data();
      tf.dispose([logW, eps]);
      // running log-sum-exp over samples, per image
      for (let i = 0; i < b; i++) {
        let m = best[i];
        for (let j = 0; j < c; j++) m = Math.max(m, w[j * b + i]);
        let sum = best[i] === -Infinity ? 0 : acc[i] * Math.exp(best[i] - m);
        for (let j = 0; j < c; j++) sum += Math.exp(w[j * b + i] - m);
        best[i] = m;
        acc[i] = sum;
      }
    }
    for (let i = 0; i < b; i++) sumIwae += best[i] + Math.log(acc[i]) - Math.log(k);
    q.dispose();
    tf.dispose([mean, logVar, x]);
  }
  // active units: variance over images of E_q[z_d]
  const all = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const m of means)
    for (let i = 0; i < m.length; i++) {
      all[i % d] += m[i];
      sq[i % d] += m[i] * m[i];
    }
  let active = 0;
  for (let j = 0; j < d; j++) if (sq[j] / n - (all[j] / n) ** 2 > 0.01) active++;
  const negIwae = -sumIwae / n;
  return {
    negElbo: -sumElbo / n,
    negIwae,
    k,
    recon: sumRecon / n,
    kl: sumKl / n,
    activeUnits: active,
    bitsPerDim: negIwae / (model.pixels * Math.LN2),
    count: n,
  };
}
