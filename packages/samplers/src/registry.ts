import { SculptError } from '@sculpt/core';
import { ddim } from './diffusion/ddim.js';
import { ddpm } from './diffusion/ddpm.js';
import { dpm2 } from './diffusion/dpm2.js';
import { dpm2Ancestral } from './diffusion/dpm2-ancestral.js';
import { dpmpp2m } from './diffusion/dpmpp-2m.js';
import { dpmpp2mSde } from './diffusion/dpmpp-2m-sde.js';
import { dpmpp2sAncestral } from './diffusion/dpmpp-2s-ancestral.js';
import { dpmpp3mSde } from './diffusion/dpmpp-3m-sde.js';
import { dpmppSde } from './diffusion/dpmpp-sde.js';
import { euler } from './diffusion/euler.js';
import { eulerAncestral } from './diffusion/euler-ancestral.js';
import { heun } from './diffusion/heun.js';
import { lms } from './diffusion/lms.js';
import { restart } from './diffusion/restart.js';
import type { DiffusionSampler } from './diffusion/types.js';
import { unipc } from './diffusion/unipc.js';

/**
 * Every diffusion sampler, in display order. Adding a sampler = one file in
 * `src/diffusion/` + one line here; the conformance suite picks it up.
 */
const SAMPLERS: readonly DiffusionSampler[] = Object.freeze([
  euler,
  eulerAncestral,
  heun,
  dpm2,
  dpm2Ancestral,
  lms,
  ddim,
  ddpm,
  dpmpp2m,
  dpmpp2sAncestral,
  dpmppSde,
  dpmpp2mSde,
  dpmpp3mSde,
  unipc,
  restart,
] as DiffusionSampler[]);

/** Lower-cases and drops spaces, `_`, `-`, `+` → `p`, so "DPM++ 2M" matches "dpmpp_2m". */
function normalize(name: string): string {
  return name
    .toLowerCase()
    .replace(/\+/g, 'p')
    .replace(/[\s_\-.]/g, '');
}

/**
 * All registered diffusion samplers (a frozen array of frozen objects).
 *
 * @returns the registry in display order; each entry has `name`, `aliases`,
 *   `paper`, `stochastic`, `order`, `nfePerStep` and `sample` / `sampleAsync` / `steps`.
 * @example
 * ```ts
 * for (const s of listSamplers()) console.log(s.name, s.order, s.nfePerStep);
 * ```
 */
export function listSamplers(): readonly DiffusionSampler[] {
  return SAMPLERS;
}

/**
 * Looks a sampler up by its name or an alias, ignoring case, spaces, `_`
 * and `-`, with `+` read as `p` ("DPM++ 2M", "dpmpp_2m", "k_dpmpp_2m" all work).
 *
 * @param name - e.g. `'euler-ancestral'`, `'Euler a'`, `'DPM++ 2M SDE'`.
 * @returns the registered sampler (the registry owns it).
 * @throws SculptError listing the known names when none matches.
 * @example
 * ```ts
 * const x0 = getSampler('DPM++ 2M').sample(denoiser, xT, sigmas);
 * ```
 */
export function getSampler(name: string): DiffusionSampler {
  const key = normalize(String(name));
  const hit = SAMPLERS.find(
    (s) => normalize(s.name) === key || s.aliases.some((a) => normalize(a) === key),
  );
  if (!hit) {
    throw new SculptError(
      'getSampler',
      'expected a registered sampler name or alias',
      `got '${name}'`,
      `use one of ${SAMPLERS.map((s) => s.name).join(', ')}`,
    );
  }
  return hit;
}
