// tfjs-core's Node entry (dist/tf-core.node.js) registers no gradients: only
// the `@tensorflow/tfjs` union package bundles them. Its ESM file
// dist/register_all_gradients.js uses extensionless imports Node cannot load,
// so this script-only helper bundles it with esbuild (a dependency of tsx)
// and runs it once. The bundle's copies of tfjs internals share the engine
// and the kernel/gradient registries (tfjs keeps those on globalThis).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// esbuild is not a dependency of ours; reach it through tsx, which runs this script.
const { build } = createRequire(require.resolve('tsx/package.json'))('esbuild') as {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
};
const coreDir = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
const result = await build({
  entryPoints: [join(coreDir, 'dist', 'register_all_gradients.js')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  write: false,
  logLevel: 'silent',
  external: ['@tensorflow/tfjs-core'],
});
const run = new Function('require', 'module', 'exports', result.outputFiles[0].text);
const module = { exports: {} };
run(require, module, module.exports);
