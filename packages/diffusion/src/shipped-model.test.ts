// The trained MNIST model ships in the package and resolves through its
// exports map, as a user's `import.meta.resolve` or bundler would find it.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json';
import { DiffusionModel } from './index.js';

describe('@sculpt/diffusion/mnist-model.safetensors', () => {
  it('resolves to the shipped file, which the tarball includes, and loads as a 10-class model', async () => {
    const file = createRequire(import.meta.url).resolve(
      '@sculpt/diffusion/mnist-model.safetensors',
    );
    expect(file).toBe(resolve(__dirname, '..', 'assets', 'mnist-model.safetensors'));
    expect(pkg.files).toContain('assets/mnist-model.safetensors');
    await initBackend('wasm');
    const model = DiffusionModel.fromBytes(await readFile(file));
    expect(model.numClasses).toBe(10);
    expect(model.imageShape).toEqual([28, 28, 1]);
    model.dispose();
  });
});
