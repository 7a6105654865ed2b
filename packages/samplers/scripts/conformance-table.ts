/**
 * Prints the conformance table of every registered sampler as JSON, then as
 * Markdown: `pnpm --filter @sculpt/samplers conformance:table [--quick]`.
 *
 * Deterministic samplers: RMS distance to an accurate float64 solution of the
 * probability-flow ODE on the default Gaussian mixture (64 start points,
 * Karras ρ = 7 sigmas 80 → 0.002), and the order fitted on 50/100/200 steps.
 * Stochastic samplers: worst deviation of the sampled mixture's weights,
 * means (in component stds) and stds (relative) from the truth (2000 samples).
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { convergence, distribution } from '../src/conformance/index.js';
import { getSampler, listSamplers } from '../src/registry.js';

const quick = process.argv.includes('--quick');
const STEPS = quick ? [5, 10, 20] : [5, 10, 20, 50, 100, 200];
const FIT = quick ? [10, 20] : [50, 100, 200];
const DIST_STEPS = quick ? [20] : [10, 20, 50];

async function main() {
  await tf.setBackend('cpu');
  const started = Date.now();
  const deterministic = [];
  const stochastic = [];
  for (const s of listSamplers()) {
    const t0 = Date.now();
    if (!s.stochastic) {
      const r = await convergence(s, { stepCounts: STEPS, fitOn: FIT });
      deterministic.push({
        name: s.name,
        nfePerStep: s.nfePerStep,
        claimedOrder: s.order,
        stepCounts: r.stepCounts,
        errors: r.errors,
        nfe: r.nfe,
        measuredOrder: r.order,
        ms: Date.now() - t0,
      });
    } else {
      const rows = [];
      for (const numSteps of DIST_STEPS) {
        const d = await distribution(s, { numSteps, seed: 1, numSamples: quick ? 500 : 2000 });
        rows.push({
          numSteps,
          weightError: d.weightError,
          meanError: d.meanError,
          stdError: d.stdError,
        });
      }
      stochastic.push({ name: s.name, nfePerStep: s.nfePerStep, rows, ms: Date.now() - t0 });
    }
  }
  // Acceptance: DPM++ 2M at 20 steps vs Euler at 100, on the suite's range and on Stable Diffusion's.
  const ranges = {
    edm: { sigmaMin: 0.002, sigmaMax: 80 },
    stableDiffusion: { sigmaMin: 0.0292, sigmaMax: 14.6146 },
  };
  const acceptance = [];
  for (const [range, r] of Object.entries(ranges)) {
    const dpmpp = (await convergence(getSampler('dpmpp-2m'), { stepCounts: [20, 30], ...r }))
      .errors;
    const eul = (await convergence(getSampler('euler'), { stepCounts: [100], ...r })).errors[0];
    acceptance.push({
      range,
      ...r,
      dpmpp2m20: dpmpp[0],
      dpmpp2m30: dpmpp[1],
      euler100: eul,
      dpmpp2m20Wins: dpmpp[0] < eul,
    });
  }
  const report = {
    backend: tf.getBackend(),
    quick,
    deterministic,
    stochastic,
    acceptance,
    totalMs: Date.now() - started,
  };
  console.log(JSON.stringify(report, null, 2));

  const e = (v: number) => v.toExponential(2);
  const lines = [
    `| sampler | NFE/step | claimed order | ${STEPS.map((n) => `err @${n}`).join(' | ')} | measured order |`,
    `|---|---|---|${STEPS.map(() => '---').join('|')}|---|`,
    ...deterministic.map(
      (r) =>
        `| ${r.name} | ${r.nfePerStep} | ${r.claimedOrder} | ${r.errors.map(e).join(' | ')} | ${r.measuredOrder.toFixed(2)} |`,
    ),
    '',
    `| sampler (stochastic) | NFE/step | ${DIST_STEPS.map((n) => `weight / mean / std error @${n}`).join(' | ')} |`,
    `|---|---|${DIST_STEPS.map(() => '---').join('|')}|`,
    ...stochastic.map(
      (r) =>
        `| ${r.name} | ${r.nfePerStep} | ${r.rows.map((x) => `${x.weightError.toFixed(3)} / ${x.meanError.toFixed(3)} / ${x.stdError.toFixed(3)}`).join(' | ')} |`,
    ),
    '',
    '| σ range | DPM++ 2M @20 | DPM++ 2M @30 | Euler @100 |',
    '|---|---|---|---|',
    ...acceptance.map(
      (a) =>
        `| ${a.sigmaMax} → ${a.sigmaMin} | ${e(a.dpmpp2m20)} | ${e(a.dpmpp2m30)} | ${e(a.euler100)} |`,
    ),
  ];
  console.log(`\n${lines.join('\n')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
