// Multi-head attention plumbing shared by SelfAttention2D and CrossAttention2D.
import * as tf from '@tensorflow/tfjs-core';

/** [B·N, heads·d] (or [B, N, heads·d]) → [B·heads, N, d]. */
export function splitHeads(t: tf.Tensor, b: number, n: number, heads: number): tf.Tensor3D {
  const d = (t.shape.at(-1) as number) / heads;
  if (heads === 1) return tf.reshape(t, [b, n, d]);
  return tf.reshape(tf.transpose(tf.reshape(t, [b, n, heads, d]), [0, 2, 1, 3]), [b * heads, n, d]);
}

/**
 * softmax(q kᵀ/√d + bias) v per head, heads merged, projected and added to the
 * feature map `x` [B, H, W, C] (the residual connection).
 */
export function attendAndAdd(
  x: tf.Tensor,
  qkv: { q: tf.Tensor3D; k: tf.Tensor3D; v: tf.Tensor3D; bias?: tf.Tensor },
  proj: { kernel: tf.Tensor; bias: tf.Tensor },
  heads: number,
): tf.Tensor {
  const [b, h, w, c] = x.shape;
  const n = h * w;
  const d = c / heads;
  const raw = tf.mul(tf.matMul(qkv.q, qkv.k, false, true), 1 / Math.sqrt(d)); // [B·heads, N, S]
  const scores = qkv.bias ? tf.add(raw, qkv.bias) : raw;
  let out: tf.Tensor = tf.matMul(tf.softmax(scores), qkv.v); // [B·heads, N, d]
  if (heads > 1) out = tf.transpose(tf.reshape(out, [b, heads, n, d]), [0, 2, 1, 3]);
  const projected = tf.add(tf.matMul(tf.reshape(out, [b * n, c]), proj.kernel), proj.bias);
  return tf.add(x, tf.reshape(projected, [b, h, w, c]));
}
