// Regenerates data/conformance.json, the table on the samplers pages, from
// @sculpt/samplers' own conformance script (cpu backend, ~70 s here):
//   node scripts/conformance-data.mjs
// which runs `pnpm --filter @sculpt/samplers conformance:table` and keeps its JSON.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const out = execFileSync(
  'pnpm',
  ['--silent', '--filter', '@sculpt/samplers', 'conformance:table'],
  {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const start = out.indexOf('{');
const end = out.indexOf('\n}\n', start);
if (start < 0 || end < 0)
  throw new Error('conformance-data: expected the JSON report on stdout, got none');
const report = JSON.parse(out.slice(start, end + 2));
report.command = 'pnpm --filter @sculpt/samplers conformance:table';
report.generatedAt = new Date().toISOString();
const file = fileURLToPath(new URL('../data/conformance.json', import.meta.url));
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  JSON.stringify({
    wrote: file,
    deterministic: report.deterministic.length,
    stochastic: report.stochastic.length,
  }),
);
