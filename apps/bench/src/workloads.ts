/**
 * The benchmark workloads. torch_bench.py builds the same architectures
 * (NCHW there, NHWC here); keep the two in step.
 *
 * Each workload builds its parameters and a fixed batch once, then `step()`
 * runs one training step and returns the loss (the caller reads it back, the
 * one device sync per step, like `loss.item()` in PyTorch).
 */

import type { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  adamWStep,
  batchNorm,
  conv,
  convParams,
  convTranspose2x,
  dense,
  denseParams,
  gelu,
  groupNorm,
  layerNorm,
  minimize,
  normParams,
  type Params,
  param,
  silu,
} from './nn.js';

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
    return { step: () => tf.matMul(a, b), dispose: () => tf.dispose([a, b]) };
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
    const optD = tf.train.adam(2e-4, 0.5);
    const optG = tf.train.adam(2e-4, 0.5);
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
    const opt = tf.train.adam(1e-3);
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

/** 4. char GPT, batch 12, context 64, vocab 65, 4 layers, 4 heads, width 128, AdamW(3e-4, λ = 0.1). */
export const gpt: Workload = {
  name: 'gpt',
  build(rng) {
    const [batch, context, vocab, layers, heads, width] = [12, 64, 65, 4, 4, 128];
    const headSize = width / heads;
    const p: Params = {};
    const decayed: string[] = [];
    const denseW = (prefix: string, inputs: number, units: number, bias = true) => {
      denseParams(p, rng, prefix, inputs, units, bias);
      decayed.push(`${prefix}.w`);
    };
    param(p, rng, 'wte', [vocab, width], { std: 0.02 });
    param(p, rng, 'wpe', [context, width], { std: 0.02 });
    decayed.push('wte', 'wpe');
    for (let l = 0; l < layers; l++) {
      normParams(p, rng, `h${l}.ln1`, width);
      denseW(`h${l}.qkv`, width, 3 * width);
      denseW(`h${l}.proj`, width, width);
      normParams(p, rng, `h${l}.ln2`, width);
      denseW(`h${l}.fc`, width, 4 * width);
      denseW(`h${l}.fc2`, 4 * width, width);
    }
    normParams(p, rng, 'lnf', width);
    denseW('head', width, vocab, false);

    const tokens = rng.integers(batch * (context + 1), 0, vocab);
    const input = tf.tensor2d(
      Int32Array.from(
        { length: batch * context },
        (_, i) => tokens[Math.floor(i / context) * (context + 1) + (i % context)],
      ),
      [batch, context],
      'int32',
    );
    const targets = tf.tidy(() => {
      const next = Int32Array.from(
        { length: batch * context },
        (_, i) => tokens[Math.floor(i / context) * (context + 1) + (i % context) + 1],
      );
      return tf.cast(tf.oneHot(tf.tensor1d(next, 'int32'), vocab), 'float32');
    });
    // Causal mask: 0 on and below the diagonal, −1e9 above.
    const mask = tf.tidy(() =>
      tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([context, context]), -1, 0)), -1e9),
    );
    const positions = tf.range(0, context, 1, 'int32');

    const attention = (l: number, x: tf.Tensor2D): tf.Tensor2D => {
      const qkv = tf.reshape(dense(p, `h${l}.qkv`, x), [batch, context, 3, heads, headSize]);
      const [q, k, v] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])); // each [B, H, T, D]
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headSize)), mask);
      const y = tf.matMul(tf.softmax(scores), v); // [B, H, T, D]
      const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [batch * context, width]);
      return dense(p, `h${l}.proj`, merged as tf.Tensor2D);
    };
    const forward = (): tf.Tensor2D => {
      let x = tf.reshape(tf.add(tf.gather(p.wte, input), tf.gather(p.wpe, positions)), [
        batch * context,
        width,
      ]) as tf.Tensor2D;
      for (let l = 0; l < layers; l++) {
        x = tf.add(x, attention(l, layerNorm(p, `h${l}.ln1`, x) as tf.Tensor2D));
        const h = gelu(dense(p, `h${l}.fc`, layerNorm(p, `h${l}.ln2`, x) as tf.Tensor2D));
        x = tf.add(x, dense(p, `h${l}.fc2`, h as tf.Tensor2D));
      }
      return dense(p, 'head', layerNorm(p, 'lnf', x) as tf.Tensor2D); // [B·T, vocab]
    };
    const learningRate = 3e-4;
    const opt = tf.train.adam(learningRate, 0.9, 0.95, 1e-8);
    const vars = varsOf(p);
    const decayedVars = decayed.map((n) => p[n]);
    return {
      step: () =>
        adamWStep(
          opt,
          learningRate,
          0.1,
          () => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(forward())), -1))) as tf.Scalar,
          vars,
          decayedVars,
        ),
      dispose: () => disposeAll(p, opt, input, targets, mask, positions),
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
      const h1 = conv(
        p,
        `${prefix}.c1`,
        silu(groupNorm(p, `${prefix}.n1`, x, 8)) as tf.Tensor4D,
        1,
      );
      const h2 = conv(
        p,
        `${prefix}.c2`,
        silu(groupNorm(p, `${prefix}.n2`, h1, 8)) as tf.Tensor4D,
        1,
      );
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
    const opt = tf.train.adam(1e-3);
    return {
      step: () => minimize(opt, () => tf.mean(tf.squaredDifference(forward(x), target)), varsOf(p)),
      dispose: () => disposeAll(p, opt, x, target),
    };
  },
};

/** The training workloads, in report order. */
export const WORKLOADS: readonly Workload[] = [matMul512, dcgan, vae, gpt, unet];
