/**
 * `SculptCachedAttention` for backend `'wasm'` (see `FUSED_KERNELS.cachedAttention`
 * of @sculpt/core): one decoding step of multi-head attention over a KV cache
 * in one call, in place of the q/k/v split, head transposes, cache concats,
 * score product, softmax, weighted sum and head merge (~12 kernel calls per
 * layer and generated token).
 */
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

type Info = tf.TensorInfo | undefined;

/** `[B, H, P, D]` of the caches, or why they do not fit qkv [B, 3·H·D]. */
function cacheShape(qkv: Info, k: Info, v: Info, heads: number): number[] | string {
  if (qkv?.dtype !== 'float32' || qkv.shape.length !== 2) return 'qkv must be float32 [B, 3C]';
  const [batch, width] = qkv.shape;
  if (!Number.isInteger(heads) || heads < 1 || width % (3 * heads) !== 0)
    return `numHeads must divide C = ${width / 3}`;
  const d = width / 3 / heads;
  if (!k && !v) return [batch, heads, 0, d];
  if (!k || !v) return 'pass both cached k and v, or neither';
  const [b, h, p, dd] = k.shape;
  const same = k.shape.length === 4 && tf.util.arraysEqual(k.shape, v.shape);
  if (
    !same ||
    k.dtype !== 'float32' ||
    v.dtype !== 'float32' ||
    b !== batch ||
    h !== heads ||
    dd !== d
  )
    return `k and v must be float32 [${batch}, ${heads}, P, ${d}]`;
  return [batch, heads, p, d];
}

/** The cached-attention kernel; throws a SculptError for inputs it does not take (the caller checks first). */
export function makeCachedAttention(addon: NativeAddon): tf.KernelFunc {
  return (params) => {
    const { qkv, k, v } = params.inputs as Record<string, Info>;
    const { numHeads } = (params.attrs ?? {}) as { numHeads?: number };
    const shape = cacheShape(qkv, k, v, numHeads ?? 0);
    if (typeof shape === 'string' || !qkv) {
      throw new SculptError(
        FUSED_KERNELS.cachedAttention,
        `float32 qkv [B, 3C] with cached k, v [B, H, P, C / H] (${shape})`,
        `got qkv ${qkv ? `${qkv.dtype} [${qkv.shape}]` : 'none'}, k [${k?.shape ?? ''}], v [${v?.shape ?? ''}], numHeads ${numHeads}`,
        'reshape the inputs to those shapes, or use the tfjs ops for this case',
      );
    }
    const [batch, heads, past, d] = shape;
    const backend = params.backend as unknown as WasmBackendInternals;
    const y = backend.makeOutput([batch, heads * d], 'float32');
    const kOut = backend.makeOutput([batch, heads, past + 1, d], 'float32');
    const vOut = backend.makeOutput([batch, heads, past + 1, d], 'float32');
    const off = (t: Info) => (t && past > 0 ? offsetOf(backend, t) : -1);
    addon.cachedAttention(
      heapOf(backend), // after the outputs: allocating them may grow the memory
      offsetOf(backend, qkv),
      off(k),
      off(v),
      offsetOf(backend, y),
      offsetOf(backend, kOut),
      offsetOf(backend, vOut),
      batch,
      heads,
      past,
      d,
    );
    return [y, kOut, vOut];
  };
}

/** The inputs of `SculptGptBlockDecode` in the addon's order (biases and caches optional). */
const BLOCK_INPUTS = [
  'x',
  'ln1Gamma',
  'ln1Beta',
  'attnW',
  'attnB',
  'attnProjW',
  'attnProjB',
  'ln2Gamma',
  'ln2Beta',
  'fcW',
  'fcB',
  'mlpProjW',
  'mlpProjB',
  'k',
  'v',
] as const;

/** The shape each of {@link BLOCK_INPUTS} must have for x [B, C] and caches [B, H, P, D], in that order. */
function blockShapes(b: number, c: number, cache: number[]): number[][] {
  const [g, w3, b3, w, w4, b4, w4t] = [
    [c],
    [c, 3 * c],
    [3 * c],
    [c, c],
    [c, 4 * c],
    [4 * c],
    [4 * c, c],
  ];
  return [[b, c], g, g, w3, b3, w, g, g, g, w4, b4, w4t, g, cache, cache];
}

const REQUIRED = new Set(['x', 'ln1Gamma', 'attnW', 'attnProjW', 'ln2Gamma', 'fcW', 'mlpProjW']);

/** The fused decoder-block kernel; throws a SculptError for inputs it does not take (the caller checks first). */
export function makeGptBlockDecode(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(18); // reused: one call at a time on the JS thread
  return (params) => {
    const inputs = params.inputs as Record<string, Info>;
    const { numHeads = 0, epsilon = 1e-5 } = (params.attrs ?? {}) as {
      numHeads?: number;
      epsilon?: number;
    };
    const { x, k, v } = inputs;
    const c = x?.shape[1] ?? 0;
    const heads = Number.isInteger(numHeads) && numHeads > 0 && c % numHeads === 0 ? numHeads : 0;
    const past = k?.shape.length === 4 ? k.shape[2] : 0;
    const want = blockShapes(x?.shape[0] ?? 0, c, [x?.shape[0] ?? 0, heads, past, c / heads]);
    const bad = BLOCK_INPUTS.filter((name, i) => {
      const t = inputs[name];
      if (!t) return REQUIRED.has(name) || (name === 'v' && k !== undefined);
      return t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, want[i]);
    });
    if (x?.shape.length !== 2 || heads === 0 || (v && !k) || bad.length > 0) {
      throw new SculptError(
        FUSED_KERNELS.gptBlockDecode,
        `float32 x [B, C], numHeads dividing C, and ${BLOCK_INPUTS.map((n, i) => `${n} [${want[i]}]`).join(', ')}`,
        `got ${BLOCK_INPUTS.map((n) => `${n} ${inputs[n] ? `[${inputs[n]?.shape}]` : 'none'}`).join(', ')}, numHeads ${numHeads}`,
        'pass the weights of one GPT block in those shapes, or use the tfjs ops for this case',
      );
    }
    const [batch] = x.shape;
    const d = c / heads;
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([batch, c], 'float32');
    const kOut = backend.makeOutput([batch, heads, past + 1, d], 'float32');
    const vOut = backend.makeOutput([batch, heads, past + 1, d], 'float32');
    BLOCK_INPUTS.forEach((name, i) => {
      const t = inputs[name];
      offsets[i] = t && (past > 0 || (name !== 'k' && name !== 'v')) ? offsetOf(backend, t) : -1;
    });
    [out, kOut, vOut].forEach((t, i) => {
      offsets[15 + i] = offsetOf(backend, t);
    });
    // The heap after the outputs: allocating them may grow the memory.
    addon.gptBlockDecode(heapOf(backend), offsets, batch, heads, past, d, epsilon);
    return [out, kOut, vOut];
  };
}
