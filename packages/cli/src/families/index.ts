// The families the `sculpt` command knows. Adding one = one adapter file + one line here.
import { UsageError } from '../errors.js';
import type { FamilyAdapter } from '../family.js';
import { diffusionFamily } from './diffusion.js';
import { ganFamily } from './gan.js';
import { gptFamily } from './gpt.js';
import { latentFamily } from './latent.js';
import { vaeFamily } from './vae.js';

/**
 * Every family, in the order `sculpt --help` lists them (a frozen array).
 *
 * @example
 * ```ts
 * for (const f of FAMILIES) console.log(f.name, f.presets.map((p) => p.name));
 * ```
 */
export const FAMILIES: readonly FamilyAdapter[] = Object.freeze([
  diffusionFamily,
  ganFamily,
  vaeFamily,
  gptFamily,
  latentFamily,
]);

/**
 * Looks a family up by name.
 *
 * @param name - e.g. `'diffusion'` (case-insensitive).
 * @returns the registered adapter (the registry owns it).
 * @throws UsageError listing the known families.
 * @example
 * ```ts
 * const model = await getFamily('diffusion').create({ preset: 'tiny', data, batchSize: 8, seed: 0, totalSteps: 100 });
 * ```
 */
export function getFamily(name: string): FamilyAdapter {
  const hit = FAMILIES.find((f) => f.name === name.trim().toLowerCase());
  if (!hit) {
    throw new UsageError(
      'sculpt',
      'expected a known model family',
      `got '${name}'`,
      `use one of: ${FAMILIES.map((f) => f.name).join(', ')}`,
    );
  }
  return hit;
}

/**
 * Checks a preset name against a family's presets.
 *
 * @returns the preset name.
 * @throws UsageError listing the family's presets.
 */
export function checkPreset(family: FamilyAdapter, preset: string): string {
  if (family.presets.some((p) => p.name === preset)) return preset;
  throw new UsageError(
    '--preset',
    `expected a preset of ${family.name}`,
    `got '${preset}'`,
    `use one of: ${family.presets.map((p) => `${p.name} (${p.description})`).join(', ')}`,
  );
}
