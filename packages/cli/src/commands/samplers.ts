// `sculpt samplers`: the diffusion sampler registry as a table (or JSON).
import { listSamplers } from '@sculpt/samplers';
import type { CliIo } from '../io.js';

/**
 * Prints every registered diffusion sampler: a table, or one `sampler` event
 * per line under `--json`.
 *
 * @returns the number of samplers listed.
 */
export function samplersCommand(io: CliIo): number {
  const rows = listSamplers().map((s) => ({
    name: s.name,
    aliases: [...s.aliases],
    order: s.order,
    nfePerStep: s.nfePerStep,
    stochastic: s.stochastic,
    paper: s.paper,
  }));
  if (io.report.mode === 'json') {
    for (const row of rows) io.report.emit({ event: 'sampler', ...row });
    return rows.length;
  }
  const table = [
    ['name', 'order', 'NFE/step', 'stochastic', 'aliases'],
    ...rows.map((r) => [
      r.name,
      String(r.order),
      String(r.nfePerStep),
      r.stochastic ? 'yes' : 'no',
      r.aliases.join(', '),
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table)
    io.report.data(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd()}\n`,
    );
  io.report.say(`\n${rows.length} samplers; pass a name or alias to 'sculpt sample --sampler'.`);
  return rows.length;
}
