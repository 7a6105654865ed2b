/**
 * The benchmark workloads. torch_bench.py builds the same architectures
 * (NCHW there, NHWC here); keep the two in step.
 *
 * Each workload builds its parameters and a fixed batch once, then `step()`
 * runs one training step and returns the loss (the caller reads it back, the
 * one device sync per step, like `loss.item()` in PyTorch).
 */

import { charTokenizer, GptModel } from '@sculpt/autoregressive';
import type { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { cdcgan, stylegan } from './gan-workloads.js';
import { latentUnet } from './latent-workloads.js';
import {
  adamWStep,
  batchNorm,
  conv,
  convParams,
  convTranspose2x,
  dense,
  denseParams,
  groupNormSilu,
  minimize,
  normParams,
  type Params,
} from './nn.js';
import { benchAdam, benchAdamW } from './optim.js';
import { convVae, vqVae } from './vae-workloads.js';

/** A built workload: one step, and the disposal of everything it allocated. */
export interface Session {
  /** Runs one step; returns a tensor the caller reads back and disposes. */
  step(): tf.Tensor;
  dispose(): void;
}

/** A benchmark workload. */
export interface Workload {
  name: string;
  /** Floating-point operations per step, when meaningful (reported as GFLOP/s). */
  flops?: number;
  build(rng: Rng): Session;
}

const varsOf = (p: Params): tf.Variable[] => Object.values(p);

function disposeAll(params: Params, ...rest: (tf.Tensor | tf.Optimizer)[]): void {
  tf.dispose(varsOf(params));
  for (const r of rest) r.dispose();
}

/** 1. A 512×512 by 512×512 matMul. */
export const matMul512: Workload = {
  name: 'matMul512',
  flops: 2 * 512 ** 3,
  build(rng) {
    const a = rng.normal([512, 512]);
    const b = rng.normal([512, 512]);
    // The step reads back one element of the product, as PyTorch's twin does (`c[0, 0].item()`):
    // reading all 1 MB costs ~0.07 ms at best but ~3 ms at the median (a new ArrayBuffer per read).
    const step = () => tf.tidy(() => tf.slice(tf.matMul(a, b), [0, 0], [1, 1]));
    return { step, dispose: () => tf.dispose([a, b]) };
  },
};

/**
 * 2. DCGAN on 28×28×1, batch 64: one discriminator step and one generator
 * step, non-saturating loss, Adam(2e-4, β₁ = 0.5). The generator runs twice
 * per step (no gradient for the D step, with gradient for the G step) on both
 * sides.
 */
export const dcgan: Workload = {
  name: 'dcgan',
  build(rng) {
    const batch = 64;
    const g: Params = {};
    denseParams(g, rng, 'fc', 100, 7 * 7 * 128, false);
    normParams(g, rng, 'bn0', 7 * 7 * 128);
    convParams(g, rng, 'up1', 4, 128, 64, { bias: false, transposed: true });
    normParams(g, rng, 'bn1', 64);
    convParams(g, rng, 'up2', 4, 64, 1, { transposed: true });
    const d: Params = {};
    convParams(d, rng, 'c1', 4, 1, 64);
    convParams(d, rng, 'c2', 4, 64, 128);
    denseParams(d, rng, 'fc', 7 * 7 * 128, 1);

    const G = (z: tf.Tensor2D): tf.Tensor4D => {
      const h0 = tf.relu(batchNorm(g, 'bn0', dense(g, 'fc', z)));
      const h1 = tf.relu(
        batchNorm(g, 'bn1', convTranspose2x(g, 'up1', tf.reshape(h0, [batch, 7, 7, 128]))),
      );
      return tf.tanh(convTranspose2x(g, 'up2', h1 as tf.Tensor4D));
    };
    const D = (x: tf.Tensor4D): tf.Tensor2D => {
      const h1 = tf.leakyRelu(conv(d, 'c1', x, 2), 0.2) as tf.Tensor4D;
      const h2 = tf.leakyRelu(conv(d, 'c2', h1, 2), 0.2);
      return dense(d, 'fc', tf.reshape(h2, [batch, 7 * 7 * 128]));
    };
    const real = rng.uniform([batch, 28, 28, 1], { min: -1, max: 1 }) as tf.Tensor4D;
    const optD = benchAdam(2e-4, 0.5);
    const optG = benchAdam(2e-4, 0.5);
    return {
      step: () => {
        const z = rng.normal([batch, 100]) as tf.Tensor2D;
        const fake = tf.tidy(() => G(z));
        // L_D = softplus(−D(x)) + softplus(D(G(z))),  L_G = softplus(−D(G(z)))
        const lossD = minimize(
          optD,
          () => tf.add(tf.mean(tf.softplus(tf.neg(D(real)))), tf.mean(tf.softplus(D(fake)))),
          varsOf(d),
        );
        const lossG = minimize(optG, () => tf.mean(tf.softplus(tf.neg(D(G(z))))), varsOf(g));
        const total = tf.add(lossD, lossG);
        tf.dispose([z, fake, lossD, lossG]);
        return total;
      },
      dispose: () => {
        disposeAll(g, optG, real);
        disposeAll(d, optD);
      },
    };
  },
};

/** 3. MLP VAE, batch 128: 784→512→(20, 20), 20→512→784, Bernoulli likelihood, Adam(1e-3). */
export const vae: Workload = {
  name: 'vae',
  build(rng) {
    const batch = 128;
    const p: Params = {};
    denseParams(p, rng, 'enc', 784, 512);
    denseParams(p, rng, 'mean', 512, 20);
    denseParams(p, rng, 'logVar', 512, 20);
    denseParams(p, rng, 'dec', 20, 512);
    denseParams(p, rng, 'out', 512, 784);
    const x = tf.tidy(() => tf.cast(tf.greater(rng.uniform([batch, 784]), 0.5), 'float32'));
    const opt = benchAdam(1e-3);
    return {
      step: () => {
        const eps = rng.normal([batch, 20]);
        const loss = minimize(
          opt,
          () => {
            const h = dense(p, 'enc', x as tf.Tensor2D, 'relu');
            const mean = dense(p, 'mean', h);
            const logVar = dense(p, 'logVar', h);
            const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D;
            const logits = dense(p, 'out', dense(p, 'dec', z, 'relu'));
            // −log p(x|z) for Bernoulli logits: softplus(l) − x·l, summed over pixels.
            const nll = tf.sum(tf.sub(tf.softplus(logits), tf.mul(x, logits)));
            // KL(q(z|x) ‖ N(0, I)) = ½ Σ (μ² + σ² − log σ² − 1)
            const kl = tf.mul(
              tf.sum(tf.sub(tf.add(tf.square(mean), tf.exp(logVar)), tf.add(logVar, 1))),
              0.5,
            );
            return tf.div(tf.add(nll, kl), batch) as tf.Scalar;
          },
          varsOf(p),
        );
        eps.dispose();
        return loss;
      },
      dispose: () => disposeAll(p, opt, x),
    };
  },
};

/**
 * 4. char GPT through @sculpt/autoregressive's own model: batch 12, context 64,
 * vocab 65, 4 layers, 4 heads, width 128, untied head, AdamW(3e-4, λ = 0.1 on matrices).
 */
export const gpt: Workload = {
  name: 'gpt',
  build(rng) {
    const [batch, context, vocab] = [12, 64, 65];
    const tokenizer = charTokenizer({
      tokens: Array.from({ length: vocab }, (_, i) => String.fromCodePoint(33 + i)),
    });
    const model = GptModel.create({
      tokenizer,
      preset: 'char-small',
      config: {
        contextLength: context,
        numLayers: 4,
        numHeads: 4,
        embedDim: 128,
        tieWeights: false,
      },
      seed: rng.seed(),
    });
    const windows = tf.tensor2d(
      rng.integers(batch * (context + 1), 0, vocab),
      [batch, context + 1],
      'int32',
    );
    const learningRate = 3e-4;
    const vars = Object.values(model.params);
    const decayedVars = vars.filter((v) => v.rank >= 2);
    const opt = benchAdamW(learningRate, 0.9, 0.95, 1e-8, 0.1, decayedVars);
    return {
      step: () => adamWStep(opt, learningRate, 0.1, () => model.loss(windows), vars, decayedVars),
      dispose: () => {
        model.dispose();
        opt.dispose();
        windows.dispose();
      },
    };
  },
};

/**
 * 5. A small U-Net on 28×28×1, batch 64: conv 1→32, ResBlock(32), conv 32→64
 * stride 2, ResBlock(64) ×2, conv-transpose 64→32 (stride 2), concat skip,
 * ResBlock(64→32), conv 32→1. GroupNorm(8), SiLU, MSE, Adam(1e-3).
 */
export const unet: Workload = {
  name: 'unet',
  build(rng) {
    const batch = 64;
    const p: Params = {};
    const resParams = (prefix: string, cin: number, cout: number) => {
      normParams(p, rng, `${prefix}.n1`, cin);
      convParams(p, rng, `${prefix}.c1`, 3, cin, cout);
      normParams(p, rng, `${prefix}.n2`, cout);
      convParams(p, rng, `${prefix}.c2`, 3, cout, cout);
      if (cin !== cout) convParams(p, rng, `${prefix}.skip`, 1, cin, cout);
    };
    convParams(p, rng, 'in', 3, 1, 32);
    resParams('r1', 32, 32);
    convParams(p, rng, 'down', 3, 32, 64);
    resParams('r2', 64, 64);
    resParams('r3', 64, 64);
    convParams(p, rng, 'up', 4, 64, 32, { transposed: true });
    resParams('r4', 64, 32);
    convParams(p, rng, 'out', 3, 32, 1);

    const res = (prefix: string, x: tf.Tensor4D): tf.Tensor4D => {
      const h1 = conv(p, `${prefix}.c1`, groupNormSilu(p, `${prefix}.n1`, x, 8), 1);
      const h2 = conv(p, `${prefix}.c2`, groupNormSilu(p, `${prefix}.n2`, h1, 8), 1);
      const skip = p[`${prefix}.skip.w`] ? conv(p, `${prefix}.skip`, x, 1) : x;
      return tf.add(skip, h2);
    };
    const forward = (x: tf.Tensor4D): tf.Tensor4D => {
      const r1 = res('r1', conv(p, 'in', x, 1));
      const low = res('r3', res('r2', conv(p, 'down', r1, 2)));
      const up = convTranspose2x(p, 'up', low);
      return conv(p, 'out', res('r4', tf.concat([up, r1], 3)), 1);
    };
    const x = rng.normal([batch, 28, 28, 1]) as tf.Tensor4D;
    const target = rng.normal([batch, 28, 28, 1]);
    const opt = benchAdam(1e-3);
    return {
      step: () => minimize(opt, () => tf.mean(tf.squaredDifference(forward(x), target)), varsOf(p)),
      dispose: () => disposeAll(p, opt, x, target),
    };
  },
};

/** The training workloads, in report order. */
export const WORKLOADS: readonly Workload[] = [
  matMul512,
  dcgan,
  vae,
  gpt,
  unet,
  convVae,
  vqVae,
  cdcgan,
  stylegan,
  latentUnet,
];
