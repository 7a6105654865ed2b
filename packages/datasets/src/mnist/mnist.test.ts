import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageBatches, imageSetTensors } from '../image-set.js';
import { packageDir } from '../node-io.js';
import {
  loadMnist,
  loadMnistDigits,
  type Mnist,
  packMnist,
  splitMnist,
  unpackMnist,
} from './mnist.js';

let mnist: Mnist;
beforeAll(async () => {
  await tf.setBackend('cpu');
  mnist = await loadMnist();
});

describe('loadMnist', () => {
  it('splits 9,000 / 1,000 with exactly 100 held-out digits per class', () => {
    expect(mnist.train.count).toBe(9000);
    expect(mnist.heldOut.count).toBe(1000);
    const perClass = new Array(10).fill(0);
    for (const label of mnist.heldOut.labels) perClass[label]++;
    expect(perClass).toEqual(new Array(10).fill(100));
    expect(mnist.train.images.length).toBe(9000 * 784);
  });

  it('holds pixels k/255 in [0, 1] with digit-like statistics', () => {
    let min = 1;
    let max = 0;
    let sum = 0;
    let offGrid = 0;
    for (const p of mnist.heldOut.images) {
      min = Math.min(min, p);
      max = Math.max(max, p);
      sum += p;
      if (Math.abs(p * 255 - Math.round(p * 255)) > 1e-4) offGrid++;
    }
    expect(offGrid).toBe(0);
    expect(min).toBe(0);
    expect(max).toBe(1);
    // MNIST's mean intensity is ≈ 0.13.
    expect(sum / mnist.heldOut.images.length).toBeGreaterThan(0.1);
    expect(sum / mnist.heldOut.images.length).toBeLessThan(0.16);
  });

  it('round-trips through the binary asset, and the asset gives the same split', async () => {
    const all = await loadMnistDigits();
    const bytes = packMnist(all);
    expect(bytes.length).toBe(16 + 10000 * 785);
    const back = unpackMnist(bytes);
    expect(back.labels).toEqual(all.labels);
    let maxDiff = 0;
    for (let i = 0; i < all.images.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(back.images[i] - all.images[i]));
    expect(maxDiff).toBeLessThan(1e-6);
    const fromBytes = await loadMnist({ source: { bytes } });
    expect(fromBytes.heldOut.labels).toEqual(splitMnist(all).heldOut.labels);
    expect(fromBytes.heldOut.images.subarray(0, 784 * 5)).toEqual(
      mnist.heldOut.images.subarray(0, 784 * 5),
    );
  });

  it('ships the same digits as the mnist package, packed (assets/mnist.bin)', async () => {
    const shipped = await loadMnistDigits(); // 'node': the packed asset
    const json = await loadMnistDigits({ source: 'mnist-package' });
    expect(shipped.count).toBe(10000);
    expect(shipped.labels).toEqual(json.labels);
    let differing = 0; // a loop: toEqual over 7.8 M floats takes minutes
    for (let i = 0; i < json.images.length; i++)
      if (shipped.images[i] !== json.images[i]) differing++;
    expect(shipped.images.length).toBe(json.images.length);
    expect(differing).toBe(0);
  }, 120_000);

  it('names the install command when an optional data package is missing', async () => {
    await expect(packageDir('not-an-installed-package', 'loadMnist')).rejects.toThrow(
      'loadMnist: needs the package not-an-installed-package, got nothing installed under that name. Fix: npm install not-an-installed-package.',
    );
  });

  it('reads the asset from a file (Node) and from a URL (the browser path)', async () => {
    const bytes = packMnist(mnist.heldOut);
    const dir = await mkdtemp(join(tmpdir(), 'sculpt-mnist-'));
    await writeFile(join(dir, 'mnist.bin'), bytes);
    const fromFile = await loadMnistDigits({ source: { path: join(dir, 'mnist.bin') } });
    expect(fromFile.labels).toEqual(mnist.heldOut.labels);
    const server = createServer((req, res) => {
      if (req.url === '/mnist.bin') res.end(Buffer.from(bytes));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const fromUrl = await loadMnistDigits({
        source: { url: `http://127.0.0.1:${port}/mnist.bin` },
      });
      let mismatches = 0;
      for (let i = 0; i < fromFile.images.length; i++)
        if (fromUrl.images[i] !== fromFile.images[i]) mismatches++;
      expect([fromUrl.count, mismatches]).toEqual([1000, 0]);
      await expect(
        loadMnistDigits({ source: { url: `http://127.0.0.1:${port}/missing.bin` } }),
      ).rejects.toThrow(/expected HTTP 200 .* got 404/);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a truncated or foreign asset', () => {
    const bytes = packMnist(mnist.heldOut);
    expect(() => unpackMnist(bytes.subarray(0, bytes.length - 1))).toThrow(
      /unpackMnist: expected .* bytes/,
    );
    expect(() => unpackMnist(new Uint8Array(32))).toThrow(/SCMNIST1/);
  });
});

describe('MNIST tensors and batches', () => {
  it('scales to [0, 1] or [-1, 1] with shape [N, 28, 28, 1]', async () => {
    const indices = [0, 1, 2, 3];
    const a = imageSetTensors(mnist.heldOut, { indices });
    const b = imageSetTensors(mnist.heldOut, { indices, range: '-1,1' });
    expect(a.images.shape).toEqual([4, 28, 28, 1]);
    expect(a.labels.dtype).toBe('int32');
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(b.images, tf.sub(tf.mul(a.images, 2), 1)))));
    expect((await diff.data())[0]).toBeLessThan(1e-6);
    expect((await tf.min(b.images).data())[0]).toBe(-1);
    tf.dispose([a.images, a.labels, b.images, b.labels, diff]);
  });

  it('binarizes at 0.5, and dynamically with mean equal to the intensity', async () => {
    const fixed = imageSetTensors(mnist.heldOut, { binarize: 'fixed' });
    const values = await fixed.images.data();
    let ones = 0;
    let expected = 0;
    let notBinary = 0;
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0 && values[i] !== 1) notBinary++;
      ones += values[i];
      if (mnist.heldOut.images[i] >= 0.5) expected++;
    }
    expect(notBinary).toBe(0);
    expect(ones).toBe(expected);
    const dyn = imageSetTensors(mnist.heldOut, { binarize: 'dynamic', rng: new Rng(1) });
    const dynSum = (await tf.sum(dyn.images).data())[0];
    const intensity = mnist.heldOut.images.reduce((s, p) => s + p, 0);
    // Sum of 784,000 Bernoulli(p): std ≤ sqrt(Σp(1−p)) ≈ 200; allow 5σ.
    expect(Math.abs(dynSum - intensity)).toBeLessThan(1000);
    expect(() => imageSetTensors(mnist.heldOut, { binarize: 'dynamic' })).toThrow(/needs an rng/);
    tf.dispose([fixed.images, fixed.labels, dyn.images, dyn.labels]);
  });

  it('batches are seeded, cover each image once per epoch, and redraw dynamic binarization', async () => {
    const take = (seed: number) => {
      const seen: number[] = [];
      const sums: number[] = [];
      for (const batch of imageBatches(mnist.heldOut, {
        batchSize: 100,
        rng: new Rng(seed),
        epochs: 2,
        binarize: 'dynamic',
      })) {
        seen.push(...batch.labels.dataSync());
        sums.push(tf.sum(batch.images).dataSync()[0]);
        tf.dispose([batch.images, batch.labels]);
      }
      return { seen, sums };
    };
    const a = take(3);
    const b = take(3);
    const c = take(4);
    expect(a.seen.length).toBe(2000);
    expect(a).toEqual(b);
    expect(a.seen).not.toEqual(c.seen);
    // Each epoch is a permutation of the held-out labels.
    const counts = new Array(10).fill(0);
    for (const l of a.seen.slice(0, 1000)) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(100));
    // Epoch 2 is reshuffled (not the same order as epoch 1).
    expect(a.seen.slice(1000)).not.toEqual(a.seen.slice(0, 1000));
  });

  it('does not leak tensors', async () => {
    await expectNoLeak(() => {
      const t = imageSetTensors(mnist.heldOut, { indices: [5, 6] });
      tf.dispose([t.images, t.labels]);
    });
  });
});
