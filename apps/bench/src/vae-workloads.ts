/**
 * The VAE-family workloads, through @sculpt/vae's own models and losses (as the
 * GPT workload uses @sculpt/autoregressive): a conv VAE and a VQ-VAE train
 * step at batch 128 on 28×28 images, Adam(1e-3). torch_bench.py builds the same
 * architectures (`conv_vae`, `vq_vae`); keep the two in step.
 */

import { Rng } from '@sculpt/core';
import { VaeModel, VaeTrainer, VqVaeModel, VqVaeTrainer } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import { minimize } from './nn.js';
import { benchAdam } from './optim.js';
import type { Workload } from './workloads.js';

const BATCH = 128;

/**
 * Conv VAE (`mnist-conv`): 3×3 stride-2 convs 1→16→32 (28 → 14 → 7), dense
 * 1568→256→(32, 32); decoder 32→256→1568, [nearest 2×, 3×3 conv] 32→16→1;
 * Bernoulli likelihood on binary pixels, analytic KL.
 */
export const convVae: Workload = {
  name: 'convVae',
  build(rng) {
    const model = VaeModel.create('mnist-conv', { seed: 1 });
    const trainer = new VaeTrainer(model);
    const x = tf.tidy(() => tf.cast(tf.greater(rng.uniform([BATCH, 28, 28, 1]), 0.5), 'float32'));
    const opt = benchAdam(1e-3);
    const stepRng = new Rng(2);
    return {
      step: () =>
        minimize(
          opt,
          () => trainer.loss(x as tf.Tensor4D, stepRng).loss,
          Object.values(model.params),
        ),
      dispose: () => {
        tf.dispose(x);
        opt.dispose();
        trainer.dispose();
        model.dispose();
      },
    };
  },
};

/**
 * VQ-VAE (`mnist-vq`): convs 1→16→32 (stride 2), 1×1 conv to D = 32, nearest of
 * K = 64 codes (straight-through), commitment β = 0.25; decoder 3×3 conv 32→32,
 * [nearest 2×, 3×3 conv] 32→16→1; Bernoulli cross-entropy on grey pixels. The
 * gradient step only: the EMA codebook update (a [64, N]·[N, 32] matMul) is left out
 * on both sides.
 */
export const vqVae: Workload = {
  name: 'vqVae',
  build(rng) {
    const model = VqVaeModel.create('mnist-vq', { seed: 1 });
    const trainer = new VqVaeTrainer(model);
    const x = rng.uniform([BATCH, 28, 28, 1]) as tf.Tensor4D;
    const opt = benchAdam(1e-3);
    return {
      step: () => minimize(opt, () => trainer.loss(x).loss, Object.values(model.params)),
      dispose: () => {
        tf.dispose(x);
        opt.dispose();
        trainer.dispose();
        model.dispose();
      },
    };
  },
};
