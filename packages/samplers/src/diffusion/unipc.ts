import { type Denoiser, type SamplerOptions, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { bindDenoiser, combine, release, stepRecord } from './util.js';

/** Options of {@link unipc}. */
export interface UnipcOptions extends SamplerOptions {
  /** Order p of the UniP predictor (1–3); the UniC corrector raises the accuracy to p + 1. Default 2. */
  solverOrder?: number;
  /** Apply the UniC corrector (no extra NFE). Default true. */
  corrector?: boolean;
}

/**
 * UniPC (Zhao et al. 2023), B(h) = e^h − 1 ("bh2"), data prediction, in σ
 * form (α = 1, λ = −ln σ). Notation as in the paper's Alg. 1–2 and diffusers:
 * h = λ_t − λ_{s0}, hh = −h, r_k = (λ_{s_k} − λ_{s0})/h for older points,
 * D1_k = (m_k − m0)/r_k, and
 *
 *   x_t = (σ_t/σ_{s0})·x − (e^{hh} − 1)·m0 − B(h)·Σ_k ρ_k·D1_k
 *
 * The predictor's ρ solve R ρ = b over the older points (ρ = ½ for p = 2);
 * the corrector adds the fresh model output m_t as the point with r = 1 and
 * reuses it for the next predictor, so UniC costs no evaluation. Orders warm
 * up (1, 2, … on the first steps) and come down on the last steps
 * (`lower_order_final`); the last step to σ = 0 returns D.
 */
function unipcWeights(rks: number[], hh: number, withLast: boolean): number[] {
  const p = rks.length; // rks holds the older points' r_k followed by 1
  const bh = Math.expm1(hh);
  let hPhiK = Math.expm1(hh) / hh - 1;
  let factorial = 1;
  const b: number[] = [];
  for (let i = 1; i <= p; i++) {
    b.push((hPhiK * factorial) / bh);
    factorial *= i + 1;
    hPhiK = hPhiK / hh - 1 / factorial;
  }
  const m = withLast ? p : p - 1;
  const rows: number[][] = [];
  for (let i = 0; i < m; i++) rows.push(rks.slice(0, m).map((r) => r ** i));
  return solve(rows, b.slice(0, m));
}

/** Solves a small dense system by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * out[k];
    out[r] = s / m[r][r];
  }
  return out;
}

interface History {
  outputs: tf.Tensor[]; // model outputs (x₀ estimates), newest last
  lambdas: number[]; // λ = −ln σ of each output
}

/** x_t = (σ_t/σ_{s0})x − (e^{hh} − 1)m0 − B(h)·[Σ ρ_k D1_k (+ ρ_t (m_t − m0))]. The caller owns it. */
function uniUpdate(
  x: tf.Tensor,
  sigma0: number,
  sigmaT: number,
  hist: History,
  order: number,
  mT?: tf.Tensor,
): tf.Tensor {
  const k0 = hist.outputs.length - 1;
  const lambda0 = hist.lambdas[k0];
  const h = -Math.log(sigmaT) - lambda0;
  const hh = -h;
  const bh = Math.expm1(hh);
  const m0 = hist.outputs[k0];
  const terms: [number, tf.Tensor][] = [
    [sigmaT / sigma0, x],
    [-Math.expm1(hh), m0],
  ];
  const rks: number[] = [];
  for (let k = 1; k < order; k++) rks.push((hist.lambdas[k0 - k] - lambda0) / h);
  rks.push(1);
  let rhos: number[];
  if (mT) rhos = order === 1 ? [0.5] : unipcWeights(rks, hh, true);
  else rhos = order === 2 ? [0.5] : order === 1 ? [] : unipcWeights(rks, hh, false);
  let m0Coef = 0;
  for (let k = 1; k < order; k++) {
    const c = (-bh * rhos[k - 1]) / rks[k - 1]; // −B(h)·ρ_k·(m_k − m0)/r_k
    terms.push([c, hist.outputs[k0 - k]]);
    m0Coef -= c;
  }
  if (mT) {
    const c = -bh * rhos[rhos.length - 1];
    terms.push([c, mT]);
    m0Coef -= c;
  }
  terms[1][0] += m0Coef;
  return combine(...terms);
}

function* unipcProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: UnipcOptions,
) {
  const solverOrder = options.solverOrder ?? 2;
  if (!Number.isInteger(solverOrder) || solverOrder < 1 || solverOrder > 3) {
    throw new SculptError(
      'unipc',
      'options.solverOrder must be 1, 2 or 3',
      `got ${String(solverOrder)}`,
    );
  }
  const useCorrector = options.corrector ?? true;
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  const hist: History = { outputs: [], lambdas: [] };
  let x = tf.clone(xT);
  let last: tf.Tensor | undefined; // sample the last predictor started from
  let lastOrder = 1;
  try {
    for (let i = 0; i < n; i++) {
      const sigma = sigmas[i];
      const sigmaNext = sigmas[i + 1];
      const denoised = model(x, sigma);
      if (useCorrector && last) {
        const corrected = uniUpdate(last, sigmas[i - 1], sigma, hist, lastOrder, denoised);
        x.dispose();
        x = corrected;
      }
      hist.outputs.push(denoised);
      hist.lambdas.push(-Math.log(sigma));
      if (hist.outputs.length > solverOrder) {
        hist.outputs.shift()?.dispose();
        hist.lambdas.shift();
      }
      const order = Math.min(solverOrder, n - i, i + 1);
      release(last);
      last = tf.clone(x);
      const next =
        sigmaNext === 0 ? tf.clone(denoised) : uniUpdate(x, sigma, sigmaNext, hist, order);
      lastOrder = order;
      x.dispose();
      x = next;
      yield stepRecord(i, sigma, sigmaNext, x, denoised, i === n - 1);
    }
    return tf.clone(x);
  } finally {
    release(x, last, ...hist.outputs);
  }
}

/**
 * **UniPC** (diffusers `UniPCMultistepScheduler`, bh2, data prediction):
 * predictor–corrector multistep, 1 NFE per step, deterministic. Order p + 1
 * with the corrector (default p = 2 → 3).
 *
 * @example
 * ```ts
 * const x0 = unipc.sample(denoiser, xT, sigmas, { solverOrder: 2 });
 * ```
 */
export const unipc = defineSampler<UnipcOptions>(
  {
    name: 'unipc',
    aliases: ['UniPC', 'uni_pc', 'uni_pc_bh2', 'UniPCMultistepScheduler'],
    paper: 'Zhao et al. 2023, UniPC: A Unified Predictor-Corrector Framework, arXiv 2302.04867',
    stochastic: false,
    order: 3,
    nfePerStep: 1,
  },
  unipcProgram,
);
