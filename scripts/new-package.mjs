#!/usr/bin/env node
// Scaffolds a package with sculpt's anatomy (package.json with exports/files/sideEffects, tsup, tsconfig, README, CHANGELOG, src/), complete from its first commit:
// package.json with `.` and `./testing` exports, tsup/vitest/typedoc/tsconfig, a README whose
// first ```ts block runs in CI (apps/docs/scripts/examples.mjs), a first test, a changeset,
// and its docs registration (typedoc entry point, sidebar link, guide page stub).
//   node scripts/new-package.mjs <dir-name> "<description>" [dep ...]
//   npm run new-package -- <dir-name> "<description>" [dep ...]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.chdir(join(dirname(fileURLToPath(import.meta.url)), '..'));

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
if (!/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error(`expected a lower-case dir name like 'vae', got '${name}'`);
  process.exit(2);
}
for (const d of deps) {
  if (!existsSync(join('packages', d, 'package.json'))) {
    console.error(
      `expected sibling packages under packages/, got '${d}' (no packages/${d}/package.json)`,
    );
    process.exit(2);
  }
}
const pkgName = `@sculpt/${name}`;
mkdirSync(join(dir, 'src', 'testing'), { recursive: true });
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
  exports: {
    '.': entry('index'),
    './testing': entry('testing/index'),
    './package.json': './package.json',
  },
  files: ['dist', 'README.md', 'CHANGELOG.md'],
  scripts: {
    build: 'tsup',
    test: 'vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json',
    typecheck: 'tsc --noEmit',
    'check:package': 'publint --strict && attw --pack . --profile node16',
    docs: 'typedoc',
  },
  dependencies: Object.fromEntries(['core', ...deps].map((d) => [`@sculpt/${d}`, 'workspace:^'])),
  peerDependencies: { '@tensorflow/tfjs-core': '^4.22.0' },
  devDependencies: {
    '@tensorflow/tfjs-backend-cpu': '4.22.0',
    '@tensorflow/tfjs-backend-wasm': '4.22.0',
    '@tensorflow/tfjs-core': '4.22.0',
    '@types/node': '^20.19.0',
  },
  engines: { node: '>=20' },
};
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(dir, 'tsup.config.ts'),
  `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
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
  `/**
 * ${pkgName} — ${description}
 * @packageDocumentation
 */

/** The package's name and version, read at build time. */
export const PACKAGE = { name: '${pkgName}', version: '0.0.0' } as const;
`,
);
writeFileSync(
  join(dir, 'src', 'testing', 'index.ts'),
  `/**
 * Test helpers for code built on ${pkgName}: \`import { … } from '${pkgName}/testing'\`
 * (tiny presets, fixtures). Core's leak check is re-exported for convenience.
 * @packageDocumentation
 */
export { expectNoLeak } from '@sculpt/core/testing';
`,
);
writeFileSync(
  join(dir, 'src', 'index.test.ts'),
  `import { describe, expect, it } from 'vitest';
import { PACKAGE } from './index.js';

describe('${pkgName}', () => {
  it('names itself', () => {
    expect(PACKAGE.name).toBe('${pkgName}');
  });
});
`,
);
writeFileSync(
  join(dir, 'README.md'),
  `# ${pkgName}

${description}

\`\`\`sh
npm install ${pkgName} @sculpt/core @tensorflow/tfjs-core
\`\`\`

\`\`\`ts
// The first ts block of a README runs in CI: keep it a small, real use of the package.
import { PACKAGE } from '${pkgName}';

console.log(PACKAGE.name);
\`\`\`

| export    | what it is                 |
| --------- | -------------------------- |
| \`PACKAGE\` | the package's name/version |

Test helpers: \`import { expectNoLeak } from '${pkgName}/testing'\`.
`,
);

// A changeset: the package's first release.
writeFileSync(
  join('.changeset', `${name}-initial.md`),
  `---\n"${pkgName}": minor\n---\n\nfeat(${name}): ${description}\n`,
);

// Docs registration: typedoc entry point, sidebar link, guide page stub.
const typedocFile = join('apps', 'docs', 'typedoc.json');
const typedoc = readFileSync(typedocFile, 'utf8');
const entryPoint = `"../../packages/${name}"`;
if (!typedoc.includes(entryPoint)) {
  // Insert after the last top-level entry point, keeping the file's formatting.
  const updated = typedoc.replace(
    /("entryPoints": \[\n(?:\s+"[^"]+",\n)*)(\s+)("[^"]+")\n/,
    (_, head, indent, last) => `${head}${indent}${last},\n${indent}${entryPoint}\n`,
  );
  if (updated === typedoc)
    console.error(`add ${entryPoint} to the entryPoints of ${typedocFile} by hand`);
  else writeFileSync(typedocFile, updated);
}

// The docs app depends on every package it documents (its examples import them by name).
const docsPkgFile = join('apps', 'docs', 'package.json');
const docsPkg = JSON.parse(readFileSync(docsPkgFile, 'utf8'));
docsPkg.devDependencies = Object.fromEntries(
  Object.entries({ ...docsPkg.devDependencies, [pkgName]: 'workspace:*' }).sort(([a], [b]) =>
    a.localeCompare(b),
  ),
);
writeFileSync(docsPkgFile, `${JSON.stringify(docsPkg, null, 2)}\n`);

const configFile = join('apps', 'docs', '.vitepress', 'config.mts');
const config = readFileSync(configFile, 'utf8');
const anchor = /^(\s*)\{ text: '@sculpt\/cli', link: '\/guide\/cli' \},$/m;
const link = `{ text: '${pkgName}', link: '/guide/${name}' },`;
if (!config.includes(link)) {
  if (!anchor.test(config)) {
    console.error(
      `could not find the @sculpt/cli sidebar link in ${configFile}: add "${link}" by hand`,
    );
  } else {
    writeFileSync(
      configFile,
      config.replace(anchor, (line, indent) => `${indent}${link}\n${line}`),
    );
  }
}

const guide = join('apps', 'docs', 'guide', `${name}.md`);
if (!existsSync(guide)) {
  writeFileSync(
    guide,
    `# ${pkgName}

${description} Reference: [API](../api/${pkgName}/).

\`\`\`ts runnable
import { PACKAGE } from '${pkgName}';

console.log(PACKAGE.name);
\`\`\`
`,
  );
}

console.log(
  `created ${dir}, .changeset/${name}-initial.md and ${guide}; registered in ${typedocFile}, ${configFile} and ${docsPkgFile}`,
);
console.log(
  'next: pnpm install, add a row to the README package table, then pnpm --filter ' +
    pkgName +
    ' test',
);
