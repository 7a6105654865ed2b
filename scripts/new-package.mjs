#!/usr/bin/env node
// Scaffolds a package with sculpt's anatomy (STYLE.md §4):
//   node scripts/new-package.mjs <dir-name> "<description>" [dep ...]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <dir-name> "<description>" [sibling ...]');
  process.exit(2);
}
const dir = join('packages', name);
if (existsSync(dir)) {
  console.error(`${dir} exists already`);
  process.exit(2);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const entry = (sub) => ({
  import: { types: `./dist/${sub}.d.ts`, default: `./dist/${sub}.js` },
  require: { types: `./dist/${sub}.d.cts`, default: `./dist/${sub}.cjs` },
});
const pkg = {
  name: `@sculpt/${name}`,
  version: '0.0.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  exports: { '.': entry('index'), './package.json': './package.json' },
  files: ['dist', 'README.md', 'CHANGELOG.md'],
  scripts: {
    build: 'tsup',
    test: 'vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json',
    typecheck: 'tsc --noEmit',
    'check:package': 'publint --strict && attw --pack . --profile node16',
    docs: 'typedoc',
  },
  dependencies: Object.fromEntries(['core', ...deps].map((d) => [`@sculpt/${d}`, 'workspace:*'])),
  peerDependencies: { '@tensorflow/tfjs-core': '^4.22.0' },
  devDependencies: {
    '@tensorflow/tfjs-backend-cpu': '4.22.0',
    '@tensorflow/tfjs-backend-wasm': '4.22.0',
    '@tensorflow/tfjs-core': '4.22.0',
    '@types/node': '^20.19.0',
  },
};
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(dir, 'tsup.config.ts'),
  `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: [/^@tensorflow\\//, /^@sculpt\\//],
});
`,
);
writeFileSync(
  join(dir, 'tsconfig.json'),
  `${JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'tsup.config.ts', 'vitest.config.ts', 'scripts', 'bench'] }, null, 2)}\n`,
);
writeFileSync(
  join(dir, 'vitest.config.ts'),
  `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
`,
);
writeFileSync(
  join(dir, 'typedoc.json'),
  `${JSON.stringify({ $schema: 'https://typedoc.org/schema.json', entryPoints: ['src/index.ts'], out: 'docs', excludePrivate: true }, null, 2)}\n`,
);
writeFileSync(join(dir, 'CHANGELOG.md'), `# @sculpt/${name}\n`);
writeFileSync(
  join(dir, 'src', 'index.ts'),
  `/**\n * @sculpt/${name} — ${description}\n * @packageDocumentation\n */\nexport {};\n`,
);
console.log(`created ${dir}`);
