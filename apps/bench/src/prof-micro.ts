import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { initBackend, Rng } from '@sculpt/core';
import { registerNativeKernels } from '../../../packages/native/src/index.js';
import { WORKLOADS } from './workloads.js';

await initBackend('wasm');
if (!process.env.NONATIVE) registerNativeKernels();
for (const name of (process.env.ONLY ?? 'unet,gpt').split(',')) {
  const w = WORKLOADS.find((x) => x.name === name)!;
  const s = w.build(new Rng(0));
  for (let i = 0; i < 3; i++) {
    const o = s.step();
    o.dataSync();
    o.dispose();
  }
  const t = performance.now();
  for (let i = 0; i < 5; i++) {
    const o = s.step();
    o.dataSync();
    o.dispose();
  }
  const stepMs = (performance.now() - t) / 5;
  const info = await tf.profile(() => {
    const o = s.step();
    o.dataSync();
    return o;
  });
  const by = new Map<string, [number, number]>();
  let total = 0;
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue;
    const ms = k.kernelTimeMs as number;
    const key =
      process.env.SHAPES && k.name.match(new RegExp(process.env.SHAPES))
        ? `${k.name} ${JSON.stringify(k.inputShapes)}`
        : k.name;
    const e = by.get(key) ?? [0, 0];
    e[0] += ms;
    e[1]++;
    by.set(key, e);
    total += ms;
  }
  console.log(
    name,
    'step',
    stepMs.toFixed(1),
    'ms; kernels sum',
    total.toFixed(1),
    'ms; count',
    info.kernels.length,
  );
  for (const [k, [ms, n]] of [...by.entries()]
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, Number(process.env.TOP ?? 22)))
    console.log('   ', ms.toFixed(1).padStart(7), String(n).padStart(4), k);
  s.dispose();
}
