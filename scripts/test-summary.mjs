#!/usr/bin/env node
// Sums the JSON reports that each package's `test` script writes (vitest's
// .vitest-report.json; Playwright's .playwright-report.json for the docs'
// browser tests) and prints one closing line: "N passed, N failed, N skipped".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const group of ['packages', 'apps']) {
  if (!existsSync(group)) continue;
  for (const name of readdirSync(group)) {
    const vitest = join(group, name, '.vitest-report.json');
    if (existsSync(vitest)) {
      const report = JSON.parse(readFileSync(vitest, 'utf8'));
      passed += report.numPassedTests;
      failed += report.numFailedTests;
      skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    }
    const playwright = join(group, name, '.playwright-report.json');
    if (existsSync(playwright)) {
      // Playwright's stats: expected = passed, unexpected = failed, flaky = passed on a retry.
      const { stats } = JSON.parse(readFileSync(playwright, 'utf8'));
      passed += stats.expected + stats.flaky;
      failed += stats.unexpected;
      skipped += stats.skipped;
    }
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
