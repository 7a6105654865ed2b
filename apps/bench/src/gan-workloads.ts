/**
 * GAN workloads through @sculpt/gan's own model (torch_bench.py builds the
 * same architectures): one D step and one G step at batch 64, non-saturating
 * loss, Adam(2e-4, β₁ = 0.5), the generator run twice per step like `dcgan`.
 */
import { discriminatorLoss, GanModel, type GanPresetName, generatorLoss } from '@sculpt/gan';
import * as tf from '@tensorflow/tfjs-core';
import { minimize } from './nn.js';
import { benchAdam } from './optim.js';
import type { Workload } from './workloads.js';

function ganWorkload(name: string, preset: GanPresetName): Workload {
  return {
    name,
    build(rng) {
      const batch = 64;
      const gan = GanModel.create(preset, { seed: rng.seed() });
      const { latentDim } = gan.config;
      const k = gan.numClasses;
      const labels = k > 0 ? Array.from({ length: batch }, (_, i) => i % k) : undefined;
      const y = labels && Int32Array.from(labels);
      const real = rng.uniform([batch, 28, 28, 1], { min: -1, max: 1 }) as tf.Tensor4D;
      const optD = benchAdam(2e-4, 0.5);
      const optG = benchAdam(2e-4, 0.5);
      const noise = rng.split();
      return {
        step: () => {
          const z = rng.normal([batch, latentDim]) as tf.Tensor2D;
          const fake = gan.generate(z, labels, { noise }); // the DCGAN G has no noise inputs
          const lossD = minimize(
            optD,
            () => discriminatorLoss('non-saturating', gan.critic(real, y), gan.critic(fake, y)),
            Object.values(gan.discriminator),
          );
          const lossG = minimize(
            optG,
            () => generatorLoss('non-saturating', gan.critic(gan.trainingFakes(z, y, noise), y)),
            Object.values(gan.generator),
          );
          gan.updateMeanStyle();
          const total = tf.add(lossD, lossG);
          tf.dispose([z, fake, lossD, lossG]);
          return total;
        },
        dispose: () => {
          gan.dispose();
          real.dispose();
          optD.dispose();
          optG.dispose();
        },
      };
    },
  };
}

/** 6. Conditional DCGAN (`cdcgan-mnist`: label embedding into G, pixel norm, projection D). */
export const cdcgan = ganWorkload('cdcgan', 'cdcgan-mnist');

/** 7. StyleGAN-style G (`stylegan-mnist`: mapping 64→64, modulated convs 4→7→14→28, noise, skip toRGB) with the DCGAN D. */
export const stylegan = ganWorkload('stylegan', 'stylegan-mnist');
