// `sculpt export <checkpoint> --out FILE`: the sampling-only file of a run
// (a GAN's generator: EMA weights + config, no discriminator, no optimizer
// state), what a web page ships.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BackendPreference } from '@sculpt/backend';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { imageModelOf, loadRun } from './sample.js';

/** Options of {@link exportCommand}. */
export interface ExportOptions {
  /** File to write (default `<run>/generator.safetensors`). */
  out?: string;
  backend: BackendPreference;
}

/** Total size of the files of a checkpoint folder, in bytes. */
async function folderBytes(dir: string): Promise<number> {
  const names = ['weights.safetensors', 'checkpoint.json'];
  const sizes = await Promise.all(
    names.map((n) =>
      stat(join(dir, n)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Runs `sculpt export`: writes the run's sampling-only file.
 *
 * @returns the path written.
 * @throws UsageError for a checkpoint whose family has no such export.
 */
export async function exportCommand(
  path: string,
  options: ExportOptions,
  io: CliIo,
): Promise<string> {
  const where = 'sculpt export';
  const loaded = await loadRun(path, options.backend, where);
  try {
    const model = imageModelOf(loaded.model, where);
    if (!model.exportSampler) {
      throw new UsageError(
        where,
        'expected a checkpoint of a GAN that samples from noise (its generator is exported)',
        `got a ${loaded.run.family} '${loaded.run.preset}' model`,
        'export a run of sculpt train gan (dcgan, stylegan-mnist); other runs load whole from their checkpoint folder',
      );
    }
    const { bytes, loader } = await model.exportSampler();
    const file = resolve(options.out ?? `${loaded.runDir}/generator.safetensors`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
    const full = await folderBytes(loaded.checkpointDir);
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    io.report.say(
      `wrote ${file} (${kb(bytes.length)}; the training checkpoint is ${kb(full)}); load it with ${loader}`,
    );
    io.report.emit(
      { event: 'export', path: file, bytes: bytes.length, checkpointBytes: full },
      `${file}\n`,
    );
    return file;
  } finally {
    loaded.model.dispose();
  }
}
