// After every browser-test run: the in-page timings of the demos that ran, one
// Markdown table per backend column (scripts/timings.mjs), printed and kept as
// screenshots/timings.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingsTable } from '../scripts/timings.mjs';

const SHOTS = fileURLToPath(new URL('../screenshots', import.meta.url));

export default function teardown(): void {
  const started = Date.now() - process.uptime() * 1000;
  const table = timingsTable(SHOTS, started);
  if (table.length === 0) return;
  const text = `${table.join('\n')}\n`;
  console.log(
    `\nIn-page timings of this run (webgpu on a machine without a GPU is SwiftShader, on the CPU):\n${text}`,
  );
  writeFileSync(join(SHOTS, 'timings.md'), text);
}
