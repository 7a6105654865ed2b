import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run against the sibling packages' sources, so they never depend on a stale dist/.
const src = (pkg: string, file: string) =>
  fileURLToPath(new URL(`../${pkg}/src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sculpt\/core\/testing$/, replacement: src('core', 'testing/index.ts') },
      { find: /^@sculpt\/core$/, replacement: src('core', 'index.ts') },
      { find: /^@sculpt\/datasets$/, replacement: src('datasets', 'index.ts') },
    ],
  },
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
