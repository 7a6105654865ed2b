// The image pool of CycleGAN's discriminator updates (Shrivastava et al.
// 2017; Zhu et al. 2017, §4): D sees a mix of this step's fakes and fakes
// from earlier generators, which damps the oscillation of the two players.
import { Rng, type RngState, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** A pool's resumable state: its images `[n, H, W, C]` (absent when empty) and Rng. */
export interface ImagePoolState {
  images: tf.Tensor4D | undefined;
  rng: RngState;
}

/**
 * A seeded pool of up to `size` past images. `query(batch)` returns, per
 * image: while the pool fills, the image itself (kept); then with
 * probability ½ a stored image (replaced by the new one), else the new image.
 *
 * @example
 * ```ts
 * const pool = new ImagePool(50, new Rng(0));
 * const forD = pool.query(fakes); // [N, H, W, C]; the caller owns it
 * pool.dispose();
 * ```
 */
export class ImagePool {
  private images: tf.Tensor3D[] = [];

  constructor(
    readonly size: number,
    private rng: Rng,
  ) {
    if (!(Number.isInteger(size) && size >= 0)) {
      throw new SculptError('ImagePool', 'expected size to be an integer ≥ 0', `got ${size}`);
    }
  }

  /** Images stored so far. */
  get count(): number {
    return this.images.length;
  }

  /**
   * Mixes `batch` with the pool (and stores its images).
   * @returns a new `[N, H, W, C]` tensor; the caller owns it (`batch` is not disposed).
   */
  query(batch: tf.Tensor4D): tf.Tensor4D {
    if (this.size === 0) return tf.clone(batch);
    const n = batch.shape[0];
    const coin = this.rng.uniformArray(n);
    const slot = this.rng.integers(n, 0, this.size);
    const rows = tf.unstack(batch) as tf.Tensor3D[];
    const out: tf.Tensor3D[] = [];
    const replaced: tf.Tensor3D[] = [];
    for (let i = 0; i < n; i++) {
      if (this.images.length < this.size) {
        this.images.push(rows[i]);
        out.push(rows[i]);
      } else if (coin[i] < 0.5) {
        out.push(this.images[slot[i]]);
        replaced.push(this.images[slot[i]]);
        this.images[slot[i]] = rows[i];
      } else {
        out.push(rows[i]);
      }
    }
    const result = tf.stack(out) as tf.Tensor4D;
    const kept = new Set(this.images);
    tf.dispose([...rows, ...replaced].filter((t) => !kept.has(t)));
    return result;
  }

  /** The images (a fresh tensor the caller owns) and the Rng. */
  getState(): ImagePoolState {
    const images = this.images.length > 0 ? (tf.stack(this.images) as tf.Tensor4D) : undefined;
    return { images, rng: this.rng.getState() };
  }

  /** Restores a state from {@link ImagePool.getState} (copies it in). */
  setState(state: ImagePoolState): void {
    const images = state.images ? (tf.unstack(state.images) as tf.Tensor3D[]) : [];
    if (images.length > this.size) {
      tf.dispose(images);
      throw new SculptError(
        'ImagePool.setState',
        `expected at most ${this.size} images`,
        `got ${images.length}`,
        'resume with the poolSize the run was trained with',
      );
    }
    this.dispose();
    this.images = images;
    this.rng = Rng.fromState(state.rng);
  }

  /** Frees the stored images. */
  dispose(): void {
    tf.dispose(this.images);
    this.images = [];
  }
}
