// `sculpt samplers`: the diffusion sampler registry as a table (or JSON).
import { listSamplers } from '@sculpt/samplers';
import type { CliIo } from '../io.js';

/**
 * Prints every registered diffusion sampler.
 *
 * @param options - `json`: print a JSON array instead of a table.
 * @returns the number of samplers listed.
 */
export function samplersCommand(options: { json?: boolean }, io: CliIo): number {
  const rows = listSamplers().map((s) => ({
    name: s.name,
    aliases: [...s.aliases],
    order: s.order,
    nfePerStep: s.nfePerStep,
    stochastic: s.stochastic,
    paper: s.paper,
  }));
  if (options.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
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
    io.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd()}\n`,
    );
  io.stdout.write(
    `\n${rows.length} samplers; pass a name or alias to 'sculpt sample --sampler'.\n`,
  );
  return rows.length;
}
