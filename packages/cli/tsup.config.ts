import { defineConfig } from 'tsup';

export default defineConfig({
  // bin.ts is the `sculpt` executable (tsup keeps its shebang and marks it executable).
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@sculpt\//],
});
