import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/*
 * The metrics classifier: a small conv net for 28×28 grayscale digits.
 *
 *   x [B,28,28,1] in [0,1]
 *   conv3×3 1→16, ReLU, maxpool 2  → [B,14,14,16]
 *   conv3×3 16→32, ReLU, maxpool 2 → [B,7,7,32]
 *   conv3×3 32→64, ReLU, crop 6×6, maxpool 2 → [B,3,3,64]
 *   flatten 576 → dense 128, ReLU  → features (the penultimate layer, for FD/KID/PR)
 *   dense 128 → 10                 → logits
 *
 * 98,442 parameters (≈ 394 KB as float32 safetensors).
 */

/** Width of the classifier's penultimate feature vector. */
export const CLASSIFIER_FEATURE_DIM = 128;

/** Parameter names and shapes of the classifier, in a fixed order. */
export const CLASSIFIER_PARAM_SHAPES: Readonly<Record<string, readonly number[]>> = Object.freeze({
  'conv1.weight': [3, 3, 1, 16],
  'conv1.bias': [16],
  'conv2.weight': [3, 3, 16, 32],
  'conv2.bias': [32],
  'conv3.weight': [3, 3, 32, 64],
  'conv3.bias': [64],
  'fc1.weight': [576, CLASSIFIER_FEATURE_DIM],
  'fc1.bias': [CLASSIFIER_FEATURE_DIM],
  'fc2.weight': [CLASSIFIER_FEATURE_DIM, 10],
  'fc2.bias': [10],
});

/** The classifier's weights as tensors, by name (see {@link CLASSIFIER_PARAM_SHAPES}). */
export type ClassifierParams = Record<string, tf.Tensor>;

/** A 'same'-padded, stride-1 3×3 convolution `[B,H,W,Cin] × [3,3,Cin,Cout] → [B,H,W,Cout]`. */
export type Conv3x3 = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

const tfConv: Conv3x3 = (x, w) => tf.conv2d(x, w, 1, 'same');

/** 2×2 max pooling by reshape + max (its gradient needs no pooling kernel). */
function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const r = tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]);
  return tf.max(r, [2, 4]) as tf.Tensor4D;
}

function convBlock(x: tf.Tensor4D, p: ClassifierParams, name: string, conv: Conv3x3): tf.Tensor4D {
  return tf.relu(
    tf.add(conv(x, p[`${name}.weight`] as tf.Tensor4D), p[`${name}.bias`]),
  ) as tf.Tensor4D;
}

/**
 * Runs the classifier to its penultimate features and logits.
 *
 * @param params - weights by name (see {@link CLASSIFIER_PARAM_SHAPES}).
 * @param images - `[B, 28, 28, 1]` float32 in `[0, 1]`.
 * @param conv - the 3×3 convolution to use (default `tf.conv2d`; training may pass an im2col version).
 * @returns `{ features: [B, 128], logits: [B, 10] }`; the caller owns both.
 * @example
 * const { features, logits } = classifierForward(params, images);
 */
export function classifierForward(
  params: ClassifierParams,
  images: tf.Tensor4D,
  conv: Conv3x3 = tfConv,
): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  if (
    images.rank !== 4 ||
    images.shape[1] !== 28 ||
    images.shape[2] !== 28 ||
    images.shape[3] !== 1
  ) {
    throw new SculptError(
      'classifierForward',
      'images must be [B, 28, 28, 1] in [0, 1]',
      `got ${formatShape(images.shape)}`,
      'resize/convert to 28×28 grayscale first',
    );
  }
  return tf.tidy(() => {
    let h = maxPool2(convBlock(images, params, 'conv1', conv)); // [B,14,14,16]
    h = maxPool2(convBlock(h, params, 'conv2', conv)); // [B,7,7,32]
    h = convBlock(h, params, 'conv3', conv); // [B,7,7,64]
    h = maxPool2(tf.slice(h, [0, 0, 0, 0], [-1, 6, 6, -1])); // [B,3,3,64]
    const flat = tf.reshape(h, [h.shape[0], 576]);
    const features = tf.relu(
      tf.add(tf.matMul(flat, params['fc1.weight'] as tf.Tensor2D), params['fc1.bias']),
    ) as tf.Tensor2D;
    const logits = tf.add(
      tf.matMul(features, params['fc2.weight'] as tf.Tensor2D),
      params['fc2.bias'],
    ) as tf.Tensor2D;
    return { features, logits };
  });
}
