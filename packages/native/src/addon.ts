/**
 * Loads the compiled addon (`build/Release/sculpt_native.node`), once.

 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The StyleGAN epilogue calls: heap, offsets, dims [B, H·W, C], leaky ReLU slope, gain. */
type StyleCall = (
  heap: Float32Array,
  offsets: Int32Array,
  dims: Int32Array,
  alpha: number,
  gain: number,
) => void;

/** The functions the C++ addon exports (see `native/sculpt_native.cc`). Offsets count floats. */
export interface NativeAddon {
  gemm(
    heap: Float32Array,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    aOff: number,
    bOff: number,
    cOff: number,
    beta: number,
    batch: number,
    strideA: number,
    strideB: number,
    strideC: number,
  ): void;
  epilogue(
    heap: Float32Array,
    outOff: number,
    rows: number,
    cols: number,
    biasOff: number,
    biasLen: number,
    activation: number,
    alpha: number,
    preluOff: number,
    preluLen: number,
  ): void;
  conv2d(heap: Float32Array, xOff: number, wOff: number, yOff: number, dims: Int32Array): void;
  conv2dBackpropInput(
    heap: Float32Array,
    dyOff: number,
    wOff: number,
    dxOff: number,
    dims: Int32Array,
  ): void;
  conv2dBackpropFilter(
    heap: Float32Array,
    xOff: number,
    dyOff: number,
    dwOff: number,
    dims: Int32Array,
  ): void;
  binary(
    heap: Float32Array,
    op: number,
    aOff: number,
    bOff: number,
    outOff: number,
    outShape: Int32Array,
    aStrides: Int32Array,
    bStrides: Int32Array,
  ): void;
  copyBlocks(
    heap: Float32Array,
    srcOff: number,
    srcRow: number,
    dstOff: number,
    dstRow: number,
    rows: number,
    width: number,
  ): void;
  unary(
    heap: Float32Array,
    op: number,
    xOff: number,
    outOff: number,
    n: number,
    alpha: number,
  ): void;
  reduce(
    heap: Float32Array,
    xOff: number,
    outOff: number,
    outer: number,
    mid: number,
    inner: number,
    scale: number,
  ): void;
  gather(
    heap: Float32Array,
    xOff: number,
    indicesOff: number,
    outOff: number,
    outer: number,
    dim: number,
    inner: number,
    count: number,
  ): number;
  greater(
    heap: Float32Array,
    aOff: number,
    aStep: number,
    bOff: number,
    bStep: number,
    outByteOff: number,
    n: number,
  ): void;
  select(
    heap: Float32Array,
    conditionByteOff: number,
    tOff: number,
    eOff: number,
    outOff: number,
    n: number,
  ): void;
  resizeBilinear(
    heap: Float32Array,
    xOff: number,
    yOff: number,
    dims: Int32Array,
    alignCorners: boolean,
    halfPixelCenters: boolean,
    grad: boolean,
  ): void;
  /** dims [b, h, w, c, oh, ow]; with `grad`, x is dy [b, oh, ow, c] and y is dx [b, h, w, c]. */
  resizeNearest: NativeAddon['resizeBilinear'];
  /** out (int32, at float offset outOff) [outer] = first index of each row's min (max) of x [outer, inner]. */
  argReduce(
    heap: Float32Array,
    xOff: number,
    outOff: number,
    outer: number,
    inner: number,
    max: boolean,
  ): void;
  gelu(heap: Float32Array, xOff: number, yOff: number, tOff: number, n: number): void;
  layerNorm(
    heap: Float32Array,
    xOff: number,
    gammaOff: number,
    betaOff: number,
    yOff: number,
    xhatOff: number,
    invOff: number,
    rows: number,
    cols: number,
    epsilon: number,
  ): void;
  /** qkv [B, 3·H·D] and caches [B, H, P, D] (offsets −1 when P = 0) → y [B, H·D], grown caches [B, H, P + 1, D]. */
  cachedAttention(
    heap: Float32Array,
    qkvOff: number,
    kOff: number,
    vOff: number,
    yOff: number,
    kOutOff: number,
    vOutOff: number,
    batch: number,
    heads: number,
    past: number,
    headDim: number,
  ): void;
  /**
   * One GPT block, one new token per sequence; offsets [x, ln1g, ln1b, attnW, attnB, projW, projB,
   * ln2g, ln2b, fcW, fcB, mlpW, mlpB, k, v, out, k', v'] (−1: no bias, or no cache when past = 0).
   */
  gptBlockDecode(
    heap: Float32Array,
    offsets: Int32Array,
    batch: number,
    heads: number,
    past: number,
    headDim: number,
    epsilon: number,
  ): void;
  /** dims [B, H·W, C, groups]; mean and rstd [B, groups]; `silu` applies z·σ(z) after the affine. */
  groupNorm(
    heap: Float32Array,
    xOff: number,
    gammaOff: number,
    betaOff: number,
    yOff: number,
    meanOff: number,
    rstdOff: number,
    dims: Int32Array,
    epsilon: number,
    silu: boolean,
  ): void;
  /** offsets [dy, x, gamma, beta, mean, rstd, dx, dgamma, dbeta]; dims as groupNorm's. */
  groupNormGrad(heap: Float32Array, offsets: Int32Array, dims: Int32Array, silu: boolean): void;
  /** offsets [param, grad, m, v, param', m', v']; scalars [β1, 1−β1, β2, 1−β2, bc1, bc2, ε, η, λ, 1−η·λ]; decay 0 none, 1 L2, 2 decoupled. */
  adamUpdate(
    heap: Float32Array,
    offsets: Int32Array,
    n: number,
    scalars: Float64Array,
    decay: number,
  ): void;
  /** y = act(conv(x, w) + bias) image block by image block; dims as conv2d's, biasOff −1 for none, act 0 linear, 1 relu, 4 leakyrelu. */
  fusedConv2d(
    heap: Float32Array,
    xOff: number,
    wOff: number,
    yOff: number,
    dims: Int32Array,
    biasOff: number,
    act: number,
    alpha: number,
  ): void;
  /** dz = dy·(y > 0 ? 1 : α) [rows, channels] and db = Σ_rows dz [channels], in one pass. */
  biasActivationGrad(
    heap: Float32Array,
    dyOff: number,
    yOff: number,
    dzOff: number,
    dbOff: number,
    rows: number,
    channels: number,
    alpha: number,
  ): void;
  /** offsets [y, demod, noise, strength, bias, out] (noise and strength −1 when left out); dims [B, H·W, C]. */
  styleEpilogue: StyleCall;
  /** offsets [dout, out, y, demod, noise, dy, ddemod, dstrength, dbias] (noise and dstrength −1 when left out); dims as styleEpilogue's. */
  styleEpilogueGrad: StyleCall;
  /** offsets [dy, x, styles, dx, dstyles]; dims [B, H·W, C]. */
  modulateGrad(heap: Float32Array, offsets: Int32Array, dims: Int32Array): void;
  /** offsets [styles, filter, d]; dims [B, Cin, Cout, kh·kw]. */
  demodulate(heap: Float32Array, offsets: Int32Array, dims: Int32Array, epsilon: number): void;
  /** offsets [dd, styles, filter, d, dstyles, dfilter]; dims as demodulate's. */
  demodulateGrad(heap: Float32Array, offsets: Int32Array, dims: Int32Array): void;
  setThreads(n: number): void;
  info(): { threads: number; core: string; config: string; avx512Gemm: boolean };
  /** Switches the AVX-512 sgemm on or off (on only where the CPU has AVX-512F); returns whether it was on. */
  avx512Gemm(on: boolean): boolean;
  /** Sets glibc's malloc to keep freed memory (mmap threshold, trim threshold, top pad); false elsewhere. */
  keepFreedMemory(): boolean;
}

/** Where the compiled addon lies: `build/Release` next to `src/` and `dist/`. */
export const ADDON_PATH = fileURLToPath(
  new URL('../build/Release/sculpt_native.node', import.meta.url),
);

/**
 * How to build the addon after installing: pnpm 10 runs no dependency's
 * install script unless it is approved, so a pnpm user silently stays on wasm.
 */
export const BUILD_HINT =
  'build it with `npm rebuild @sculpt/native`, or with pnpm: `pnpm approve-builds` (approve @sculpt/native) then `pnpm rebuild @sculpt/native`; it needs g++, make, python3 and libopenblas-dev';

let loaded: { addon: NativeAddon } | { error: string } | undefined;

/** The addon, or why it could not be loaded. */
export function loadAddon(): { addon: NativeAddon } | { error: string } {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    loaded = { error: `the addon was never built (no ${ADDON_PATH}): ${BUILD_HINT}` };
    return loaded;
  }
  try {
    loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
  } catch (err) {
    loaded = { error: `the addon did not load (${(err as Error).message}): ${BUILD_HINT}` };
  }
  return loaded;
}
