import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels } from './index.js';

beforeAll(async () => {
  registerWasmKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

/** Runs `steps` Adam steps of `loss` over the model's trainable weights; returns the loss of each step. */
function train(
  model: tfl.LayersModel,
  loss: () => tf.Scalar,
  steps: number,
  learningRate: number,
): number[] {
  const optimizer = tf.train.adam(learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const value = optimizer.minimize(loss, true, vars);
    losses.push(value ? value.dataSync()[0] : Number.NaN);
    value?.dispose();
  }
  optimizer.dispose();
  return losses;
}

describe('tfjs-layers training on wasm', () => {
  it('a conv / strided conv / conv-transpose autoencoder trains, and its loss falls', () => {
    const rng = new Rng(3);
    const input = tfl.input({ shape: [8, 8, 1] });
    let h = tfl.layers
      .conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' })
      .apply(input) as tfl.SymbolicTensor;
    h = tfl.layers
      .conv2d({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' })
      .apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.conv2d({ filters: 8, kernelSize: 1 }).apply(h) as tfl.SymbolicTensor;
    const output = tfl.layers
      .conv2dTranspose({ filters: 1, kernelSize: 4, strides: 2, padding: 'same' })
      .apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const x = rng.normal([16, 8, 8, 1]);
    const losses = train(
      model,
      () => tf.losses.meanSquaredError(x, model.apply(x) as tf.Tensor) as tf.Scalar,
      30,
      1e-2,
    );
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    x.dispose();
    model.dispose();
  });

  it('a pool / separable-conv / upsample model (U-Net-style blocks) trains, and its loss falls', () => {
    const rng = new Rng(6);
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 6, kernelSize: 3, padding: 'same' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.separableConv2d({
          filters: 6,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
        }),
        tfl.layers.depthwiseConv2d({
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          depthMultiplier: 2,
        }),
        tfl.layers.upSampling2d({ size: [4, 4] }),
        tfl.layers.conv2d({ filters: 2, kernelSize: 1 }),
      ],
    });
    const x = rng.normal([8, 8, 8, 2]);
    // A target the 2×2 bottleneck can represent: x averaged over 4×4 blocks, upsampled back.
    const target = tf.tidy(() =>
      tf.image.resizeNearestNeighbor(tf.avgPool(x as tf.Tensor4D, 4, 4, 'valid'), [8, 8]),
    );
    const loss = () => tf.losses.meanSquaredError(target, model.apply(x) as tf.Tensor) as tf.Scalar;
    const losses = train(model, loss, 30, 1e-2);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    tf.dispose([x, target]);
    model.dispose();
  });

  it('an embedding model trains (gather gradient = UnsortedSegmentSum), and its loss falls', () => {
    const rng = new Rng(4);
    const model = tfl.sequential({
      layers: [
        tfl.layers.embedding({ inputDim: 12, outputDim: 6, inputLength: 5 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3 }),
      ],
    });
    const ids = tf.tensor2d(Array.from(rng.integers(32 * 5, 0, 12)), [32, 5], 'int32');
    const labels = tf.oneHot(
      tf.tensor1d(Array.from(rng.integers(32, 0, 3)), 'int32'),
      3,
      1,
      0,
      'float32',
    );
    const loss = () =>
      tf.losses.softmaxCrossEntropy(labels, model.apply(ids) as tf.Tensor) as tf.Scalar;
    const losses = train(model, loss, 40, 5e-2);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    tf.dispose([ids, labels]);
    model.dispose();
  });

  it('a training step leaks no tensor and no wasm buffer', async () => {
    const rng = new Rng(5);
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [8, 8, 2],
          filters: 4,
          kernelSize: 4,
          strides: 2,
          padding: 'same',
          activation: 'relu',
        }),
        tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same' }),
      ],
    });
    const x = rng.normal([4, 8, 8, 2]);
    const optimizer = tf.train.adam(1e-3);
    const step = () =>
      optimizer.minimize(
        () => tf.losses.meanSquaredError(x, model.apply(x) as tf.Tensor) as tf.Scalar,
        true,
      );
    step()?.dispose(); // creates Adam's slot variables
    const dataIds = tf.backend().numDataIds();
    await expectNoLeak(step, { label: 'conv train step on wasm' });
    expect(tf.backend().numDataIds()).toBe(dataIds);
    x.dispose();
    optimizer.dispose();
    model.dispose();
  });
});
