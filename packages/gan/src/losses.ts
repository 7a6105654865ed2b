// GAN objectives on discriminator logits, and the gradient penalties.
//
// Notation: r = D(x) on real images, f = D(G(z)) on generated ones, both raw
// logits (no sigmoid); softplus(t) = log(1 + eᵗ).
//   minimax (Goodfellow et al. 2014, eq. 1): min_G max_D E log σ(r) + E log(1 − σ(f))
//   non-saturating: L_D = E softplus(−r) + E softplus(f),  L_G = E softplus(−f)
//     (G maximises log σ(f) instead of minimising log(1 − σ(f)), whose gradient
//     vanishes exactly when D rejects G's samples, i.e. early in training)
//   hinge (Lim & Ye 2017; Miyato et al. 2018): L_D = E relu(1 − r) + E relu(1 + f),  L_G = −E f
//   WGAN-GP (Gulrajani et al. 2017, eq. 3): L_D = E f − E r + λ E (‖∇D(x̂)‖₂ − 1)²,
//     x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1];  L_G = −E f
//   R1 (Mescheder et al. 2018, eq. 9): (γ/2) E_real ‖∇ₓD(x)‖²
//   class loss of the auxiliary head (AC-GAN, Odena et al. 2017, eq. 2):
//     L_C = E −log softmax(C(x))_y = E [logsumexp(C(x)) − C(x)_y]
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** The adversarial objectives. */
export type GanLoss = 'non-saturating' | 'hinge' | 'wgan-gp';

/** The known loss names. */
export const GAN_LOSSES: readonly GanLoss[] = Object.freeze(['non-saturating', 'hinge', 'wgan-gp']);

/**
 * Checks a loss name.
 * @returns the name.
 * @throws SculptError naming the known losses.
 */
export function checkLoss(where: string, loss: unknown): GanLoss {
  if (GAN_LOSSES.includes(loss as GanLoss)) return loss as GanLoss;
  throw new SculptError(
    where,
    `expected loss ${GAN_LOSSES.map((l) => `'${l}'`).join(', ')}`,
    `got '${String(loss)}'`,
    "use 'non-saturating' (the default) or 'hinge'",
  );
}

/**
 * The discriminator's adversarial loss (without penalties) for one batch.
 * @param real - logits D(x) `[B]`.
 * @param fake - logits D(G(z)) `[B]`.
 * @returns a scalar; the caller owns it.
 * @example
 * ```ts
 * const loss = discriminatorLoss('hinge', tf.tensor1d([2, 0.5]), tf.tensor1d([-1, 0]));
 * ```
 */
export function discriminatorLoss(kind: GanLoss, real: tf.Tensor1D, fake: tf.Tensor1D): tf.Scalar {
  checkLoss('discriminatorLoss', kind);
  return tf.tidy(() => {
    if (kind === 'non-saturating')
      return tf.add(tf.mean(tf.softplus(tf.neg(real))), tf.mean(tf.softplus(fake)));
    if (kind === 'hinge')
      return tf.add(tf.mean(tf.relu(tf.sub(1, real))), tf.mean(tf.relu(tf.add(1, fake))));
    return tf.sub(tf.mean(fake), tf.mean(real));
  }) as tf.Scalar;
}

/**
 * The generator's loss for one batch of logits D(G(z)) `[B]`.
 * @returns a scalar; the caller owns it.
 * @example
 * ```ts
 * const loss = generatorLoss('non-saturating', fakeLogits);
 * ```
 */
export function generatorLoss(kind: GanLoss, fake: tf.Tensor1D): tf.Scalar {
  checkLoss('generatorLoss', kind);
  return tf.tidy(() =>
    kind === 'non-saturating' ? tf.mean(tf.softplus(tf.neg(fake))) : tf.neg(tf.mean(fake)),
  ) as tf.Scalar;
}

/** Per-image squared L2 norm of ∇ₓ Σ D(x) `[B]` (D treats images independently). */
function inputGradientSquaredNorms(
  critic: (x: tf.Tensor4D) => tf.Tensor1D,
  x: tf.Tensor4D,
): tf.Tensor1D {
  const g = tf.grad((input: tf.Tensor) => tf.sum(critic(input as tf.Tensor4D)))(x);
  return tf.sum(tf.square(g), [1, 2, 3]) as tf.Tensor1D;
}

/**
 * R1: E ‖∇ₓ D(x)‖² over real images `x` (multiply by γ/2 for the penalty).
 * Differentiable with respect to D's weights (a second-order gradient).
 * @param critic - x `[B, H, W, C]` → logits `[B]`.
 * @returns a scalar; the caller owns it.
 * @example
 * ```ts
 * const r1 = r1Penalty((x) => discriminate(x), realImages);
 * ```
 */
export function r1Penalty(critic: (x: tf.Tensor4D) => tf.Tensor1D, x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(inputGradientSquaredNorms(critic, x))) as tf.Scalar;
}

/**
 * WGAN-GP's penalty E (‖∇D(x̂)‖₂ − 1)² at `x̂ = εx + (1 − ε)fake`.
 * @param epsilon - one ε ∈ [0, 1] per image, `[B]`.
 * @returns a scalar (multiply by λ); the caller owns it.
 * @example
 * ```ts
 * const gp = gradientPenalty(critic, real, fake, tf.tensor1d([0.3, 0.9]));
 * ```
 */
export function gradientPenalty(
  critic: (x: tf.Tensor4D) => tf.Tensor1D,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  epsilon: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const e = tf.reshape(epsilon, [-1, 1, 1, 1]);
    const mixed = tf.add(tf.mul(e, real), tf.mul(tf.sub(1, e), fake)) as tf.Tensor4D;
    const norms = tf.sqrt(tf.add(inputGradientSquaredNorms(critic, mixed), 1e-12));
    return tf.mean(tf.square(tf.sub(norms, 1)));
  }) as tf.Scalar;
}

/**
 * Cross-entropy of class logits `[B, K]` against one-hot labels `[B, K]`,
 * averaged over the batch (the auxiliary classifier's loss).
 * @returns a scalar; the caller owns it.
 * @example
 * ```ts
 * const ce = classLoss(tf.tensor2d([[2, 0]]), tf.tensor2d([[1, 0]])); // log(1 + e⁻²)
 * ```
 */
export function classLoss(logits: tf.Tensor2D, oneHotLabels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() =>
    tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, oneHotLabels), 1))),
  ) as tf.Scalar;
}
