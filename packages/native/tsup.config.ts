import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // import.meta.url (finding the compiled addon) also works in the CJS build.
  shims: true,
  external: [/^@tensorflow\//, /^@sculpt\//],
});
