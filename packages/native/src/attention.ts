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
