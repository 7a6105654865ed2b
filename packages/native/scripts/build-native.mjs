#!/usr/bin/env node
// Compiles the native addon (build/Release/sculpt_native.node) with node-gyp.
//
//   node scripts/build-native.mjs              fail when the addon cannot be built
//   node scripts/build-native.mjs --optional   warn instead (the package's install step:
//                                              without the addon, sculpt runs on wasm alone)
//
// Needs a C++ compiler, make, python3 and OpenBLAS's headers (Debian/Ubuntu:
// `apt-get install g++ make python3 libopenblas-dev`). Node's headers are taken
// from the Node installation itself when it ships them, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const optional = process.argv.includes('--optional');
const addon = join(root, 'build', 'Release', 'sculpt_native.node');

const sources = [
  join(root, 'binding.gyp'),
  ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f)),
];
if (existsSync(addon)) {
  const built = statSync(addon).mtimeMs;
  if (sources.every((f) => statSync(f).mtimeMs <= built)) process.exit(0);
}

const args = ['rebuild', '--release', '--jobs=max'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

let gyp;
try {
  gyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = undefined;
}
const res = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' })
  : { status: 1, error: new Error('node-gyp is not installed') };

if (res.status !== 0) {
  const why = res.error ? ` (${res.error.message})` : '';
  const msg =
    `[@sculpt/native] could not build the native addon${why}. ` +
    'It needs g++, make, python3 and OpenBLAS headers: on Debian/Ubuntu ' +
    '`apt-get install g++ make python3 libopenblas-dev`, then run ' +
    '`node scripts/build-native.mjs` in this package. Without it, sculpt runs on wasm alone.';
  console.error(msg);
  process.exit(optional ? 0 : 1);
}
