// Where the batches of Trainer.fit come from, and who frees them.
import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';
import type { Rng } from '../random/rng.js';

/**
 * The data of {@link Trainer.fit}: a function of the 0-based step index and a
 * per-step child `Rng` (deterministic and resumable), or an (async) iterable
 * of batches, restarted at the end of each epoch (not resumable mid-epoch).
 */
export type FitData<B> =
  | ((step: number, rng: Rng) => B | Promise<B>)
  | AsyncIterable<B>
  | Iterable<B>;

/** Disposes every tensor in a batch (a tensor, or arrays / plain objects of them). */
export function disposeBatch(value: unknown): void {
  if (value instanceof tf.Tensor) value.dispose();
  else if (Array.isArray(value)) value.forEach(disposeBatch);
  else if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    Object.values(value).forEach(disposeBatch);
  }
}

/** Pulls batches from a function or an (async) iterable, restarting iterables per epoch. */
export class BatchSource<B> {
  private iterator: Iterator<B> | AsyncIterator<B> | undefined;
  private epoch = 0;
  private sinceRestart = 0;

  constructor(private readonly data: FitData<B>) {
    const ok =
      typeof data === 'function' ||
      (data !== null &&
        typeof data === 'object' &&
        (Symbol.asyncIterator in data || Symbol.iterator in data));
    if (!ok) {
      throw new SculptError(
        'Trainer.fit',
        'data must be a function (step, rng) => batch or an (async) iterable of batches',
        `got ${typeof data}`,
      );
    }
  }

  async next(
    step: number,
    rng: Rng,
    onEpoch: ((epoch: number) => void | Promise<void>) | undefined,
  ): Promise<B> {
    const data = this.data;
    if (typeof data === 'function') return await data(step, rng.split());
    for (;;) {
      this.iterator ??=
        Symbol.asyncIterator in data
          ? (data as AsyncIterable<B>)[Symbol.asyncIterator]()
          : (data as Iterable<B>)[Symbol.iterator]();
      const r = await this.iterator.next();
      if (!r.done) {
        this.sinceRestart++;
        return r.value;
      }
      if (this.sinceRestart === 0) {
        throw new SculptError(
          'Trainer.fit',
          'expected the data iterable to yield batches',
          `got none after epoch ${this.epoch}`,
          'pass an iterable that can restart (an array, or an object whose [Symbol.asyncIterator]() makes a new iterator), or a function (step, rng) => batch',
        );
      }
      this.iterator = undefined;
      this.sinceRestart = 0;
      this.epoch++;
      await onEpoch?.(this.epoch);
    }
  }

  async close(): Promise<void> {
    await this.iterator?.return?.();
  }
}
