// The U-Net (Ronneberger et al. 2015) as used by DDPM / ADM (Ho et al. 2020;
// Dhariwal & Nichol 2021): residual blocks with GroupNorm + SiLU and a
// time(+class) embedding added after the first conv, self-attention at low
// resolution, stride-2 convs down, nearest 2× + conv up, skip connections
// concatenated on the way up. Built with the tfjs-layers functional API.
import { SculptError } from '@sculpt/core';
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CrossAttention2D } from './cross-attention.js';
import {
  AddEmbedding,
  ClassEmbedding,
  GroupNormalization,
  PixelShuffle,
  SelfAttention2D,
  SinusoidalEmbedding,
  Upsample2x,
} from './layers.js';

/** Architecture of the U-Net. Every field is plain JSON. */
export interface UNetConfig {
  /** Image height = width in pixels (divisible by 2^(levels−1)). */
  readonly imageSize: number;
  /** Image channels (1 = gray). */
  readonly channels: number;
  /**
   * Patch size of the stem (1, 2 or 4): with p > 1 the stem is a p×p stride-p
   * conv ("patchify") and the U-Net runs at imageSize / p; the head's last conv
   * makes C·p² channels that {@link PixelShuffle} puts back to full size.
   * p = 2 cuts the cost ~4× at 28×28.
   */
  readonly patchSize: number;
  /** Feature width per resolution level; level l works at imageSize / (patchSize · 2^l). */
  readonly widths: readonly number[];
  /** Residual blocks per level, on the way down and on the way up. */
  readonly blocksPerLevel: number;
  /** Levels (indices into `widths`) with self-attention after each block. */
  readonly attentionLevels: readonly number[];
  /** Whether the middle (between the down and up paths, lowest resolution) has a self-attention block. */
  readonly midAttention: boolean;
  /** Width of the time (+ class) embedding. */
  readonly embedDim: number;
  /** Number of classes for conditioning; 0 = unconditional. Label `numClasses` is the null label. */
  readonly numClasses: number;
  /** GroupNorm groups (divides every width). */
  readonly groups: number;
  /** Attention heads (divides the attention widths). */
  readonly numHeads: number;
  /** The network's time input is multiplied by this before the sinusoids. */
  readonly timeScale: number;
  /**
   * Width D of a context sequence (`cond.context` [B, L, D], e.g. a text
   * encoding) attended by a cross-attention layer after every self-attention
   * layer. 0 or absent = no context (configs written before it load unchanged).
   */
  readonly contextDim?: number;
  /** Length L of the context sequence when `contextDim` is set. Default 16. */
  readonly contextLength?: number;
}

/** `contextLength` when a config leaves it out. */
export const DEFAULT_CONTEXT_LENGTH = 16;

/** Names of the built-in U-Net presets. */
export type UNetPresetName = 'tiny' | 'mnist';

/**
 * The presets. `tiny` (8×8, two levels) runs a train step in milliseconds
 * for tests; `mnist` (28×28 gray, class-conditional, 2×2 patch stem so the
 * levels run at 14×14 and 7×7, attention at 7×7) is sized to train on a
 * 2-core CPU (wasm) in about 20 minutes.
 *
 * | preset | image | patch | widths | blocks | attention | embed | classes |
 * |---|---|---|---|---|---|---|---|
 * | tiny | 8×8×1 | 1 | 8, 16 | 1 | 4×4 | 32 | 3 |
 * | mnist | 28×28×1 | 2 | 32, 64 | 1 | 7×7 + middle | 128 | 10 |
 */
export const UNET_PRESETS: Readonly<Record<UNetPresetName, UNetConfig>> = Object.freeze({
  tiny: Object.freeze({
    imageSize: 8,
    channels: 1,
    patchSize: 1,
    widths: Object.freeze([8, 16]),
    blocksPerLevel: 1,
    attentionLevels: Object.freeze([1]),
    midAttention: false,
    embedDim: 32,
    numClasses: 3,
    groups: 4,
    numHeads: 1,
    timeScale: 1,
  }),
  mnist: Object.freeze({
    imageSize: 28,
    channels: 1,
    patchSize: 2,
    widths: Object.freeze([32, 64]),
    blocksPerLevel: 1,
    attentionLevels: Object.freeze([1]),
    midAttention: true,
    embedDim: 128,
    numClasses: 10,
    groups: 8,
    numHeads: 2,
    timeScale: 1,
  }),
});

/** The widest U-Net level {@link checkUNetConfig} accepts. */
const MAX_WIDTH = 4096;

/** Checks a U-Net config; throws a SculptError naming the bad field. */
export function checkUNetConfig(where: string, c: UNetConfig): void {
  const bad = (field: string, expected: string, got: unknown, fix?: string) => {
    throw new SculptError(
      where,
      `expected unet.${field} ${expected}`,
      `got ${JSON.stringify(got)}`,
      fix,
    );
  };
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!posInt(c.imageSize)) bad('imageSize', 'to be a positive integer', c.imageSize);
  if (!posInt(c.channels)) bad('channels', 'to be a positive integer', c.channels);
  if (!Array.isArray(c.widths) || c.widths.length < 1 || !c.widths.every(posInt))
    bad('widths', 'to be a non-empty list of positive integers', c.widths);
  // A 3×3 conv of width w holds 9·w² weights: past 4,096 one layer alone is over 600 MB.
  if (c.widths.some((w) => w > MAX_WIDTH))
    bad('widths', `to be at most ${MAX_WIDTH} each`, c.widths, 'use widths like [64, 128, 256]');
  if (![1, 2, 4].includes(c.patchSize)) bad('patchSize', 'to be 1, 2 or 4', c.patchSize);
  if (c.imageSize % (c.patchSize * 2 ** (c.widths.length - 1)) !== 0)
    bad(
      'imageSize',
      `divisible by patchSize · 2^${c.widths.length - 1} (one halving per extra level)`,
      c.imageSize,
      'use fewer levels or pad the images',
    );
  if (!posInt(c.blocksPerLevel))
    bad('blocksPerLevel', 'to be a positive integer', c.blocksPerLevel);
  if (!c.widths.every((w) => w % c.groups === 0)) bad('groups', 'to divide every width', c.groups);
  if (!c.attentionLevels.every((l) => Number.isInteger(l) && l >= 0 && l < c.widths.length))
    bad('attentionLevels', `to be level indices in [0, ${c.widths.length - 1}]`, c.attentionLevels);
  if (!c.attentionLevels.every((l) => c.widths[l] % c.numHeads === 0))
    bad('numHeads', 'to divide the attention widths', c.numHeads);
  if (!(posInt(c.embedDim) && c.embedDim % 2 === 0))
    bad('embedDim', 'to be a positive even integer', c.embedDim);
  if (!(Number.isInteger(c.numClasses) && c.numClasses >= 0))
    bad('numClasses', 'to be an integer ≥ 0', c.numClasses);
  if (!(Number.isFinite(c.timeScale) && c.timeScale > 0))
    bad('timeScale', 'to be a finite number > 0', c.timeScale);
  if (c.contextDim !== undefined && !(Number.isInteger(c.contextDim) && c.contextDim >= 0))
    bad('contextDim', 'to be an integer ≥ 0', c.contextDim, 'use 0 for no text context');
  if (c.contextLength !== undefined && !posInt(c.contextLength))
    bad('contextLength', 'to be a positive integer', c.contextLength);
}

/** Whether a U-Net config attends a context sequence (`contextDim` > 0). */
export function hasContext(c: UNetConfig): boolean {
  return (c.contextDim ?? 0) > 0;
}

interface Ctx {
  readonly c: UNetConfig;
  readonly embAct: tfl.SymbolicTensor;
  /** `[context [B, L, D], mask [B, L]]` when the config has a context. */
  readonly context?: [tfl.SymbolicTensor, tfl.SymbolicTensor];
}

const sym = (
  layer: tfl.layers.Layer,
  x: tfl.SymbolicTensor | tfl.SymbolicTensor[],
): tfl.SymbolicTensor => layer.apply(x) as tfl.SymbolicTensor;
const conv = (name: string, filters: number, kernelSize = 3, strides = 1, zero = false) =>
  tfl.layers.conv2d({
    name,
    filters,
    kernelSize,
    strides,
    padding: 'same',
    ...(zero ? { kernelInitializer: 'zeros' } : {}),
  });
const silu = (name: string) => tfl.layers.activation({ name, activation: 'swish' });

/** GroupNorm + SiLU as one layer (one op, one fused kernel each way where the backend has it). */
function normAct(ctx: Ctx, x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
  return sym(new GroupNormalization({ name: `${name}_norm`, groups: ctx.c.groups, silu: true }), x);
}

/** ResBlock: x + conv(act(norm(conv(act(norm(x))) + dense(emb)))); 1×1 conv on the skip when widths differ. */
function resBlock(
  ctx: Ctx,
  x: tfl.SymbolicTensor,
  width: number,
  name: string,
): tfl.SymbolicTensor {
  let h = sym(conv(`${name}_conv1`, width), normAct(ctx, x, `${name}_1`));
  const e = sym(tfl.layers.dense({ name: `${name}_emb`, units: width }), ctx.embAct);
  h = sym(new AddEmbedding({ name: `${name}_add_emb` }), [h, e]);
  h = sym(conv(`${name}_conv2`, width, 3, 1, true), normAct(ctx, h, `${name}_2`));
  const skip = x.shape[3] === width ? x : sym(conv(`${name}_skip`, width, 1), x);
  return sym(tfl.layers.add({ name: `${name}_out` }), [skip, h]);
}

/** Self-attention, then (with a context) cross-attention to the context sequence. */
function attention(ctx: Ctx, x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
  const { numHeads, groups } = ctx.c;
  const h = sym(new SelfAttention2D({ name, numHeads, groups }), x);
  if (!ctx.context) return h;
  const cross = new CrossAttention2D({ name: `${name}_xattn`, numHeads, groups });
  return sym(cross, [h, ...ctx.context]);
}

function embedding(
  c: UNetConfig,
  t: tfl.SymbolicTensor,
  label: tfl.SymbolicTensor | undefined,
): tfl.SymbolicTensor {
  let e = sym(
    new SinusoidalEmbedding({ name: 'time_sinusoid', dim: c.widths[0], scale: c.timeScale }),
    t,
  );
  e = sym(tfl.layers.dense({ name: 'time_dense1', units: c.embedDim, activation: 'swish' }), e);
  e = sym(tfl.layers.dense({ name: 'time_dense2', units: c.embedDim }), e);
  if (label) {
    const l = sym(
      new ClassEmbedding({
        name: 'class_embedding',
        numEmbeddings: c.numClasses + 1,
        dim: c.embedDim,
      }),
      label,
    );
    e = sym(tfl.layers.add({ name: 'time_plus_class' }), [e, l]);
  }
  return sym(silu('embedding_act'), e);
}

function downPath(
  ctx: Ctx,
  h: tfl.SymbolicTensor,
  skips: tfl.SymbolicTensor[],
): tfl.SymbolicTensor {
  const { widths, blocksPerLevel, attentionLevels } = ctx.c;
  for (let l = 0; l < widths.length; l++) {
    for (let j = 0; j < blocksPerLevel; j++) {
      h = resBlock(ctx, h, widths[l], `down${l}_res${j}`);
      if (attentionLevels.includes(l)) h = attention(ctx, h, `down${l}_attn${j}`);
      skips.push(h);
    }
    if (l < widths.length - 1) h = sym(conv(`down${l}_downsample`, widths[l], 3, 2), h);
  }
  return h;
}

function upPath(ctx: Ctx, h: tfl.SymbolicTensor, skips: tfl.SymbolicTensor[]): tfl.SymbolicTensor {
  const { widths, blocksPerLevel, attentionLevels } = ctx.c;
  for (let l = widths.length - 1; l >= 0; l--) {
    for (let j = 0; j < blocksPerLevel; j++) {
      h = sym(tfl.layers.concatenate({ name: `up${l}_cat${j}`, axis: 3 }), [
        h,
        skips.pop() as tfl.SymbolicTensor,
      ]);
      h = resBlock(ctx, h, widths[l], `up${l}_res${j}`);
      if (attentionLevels.includes(l)) h = attention(ctx, h, `up${l}_attn${j}`);
    }
    if (l > 0)
      h = sym(
        conv(`up${l}_upconv`, widths[l - 1]),
        sym(new Upsample2x({ name: `up${l}_upsample` }), h),
      );
  }
  return h;
}

/**
 * Builds the U-Net as a tfjs-layers functional model. Inputs:
 * `image [B, S, S, C]`, `timestep [B, 1]` (float) and, when `numClasses > 0`,
 * `label [B, 1]` (class ids as floats; `numClasses` = null label) and, when
 * `contextDim > 0`, `context [B, L, D]` and `context_mask [B, L]` (1 = token, 0 = padding). Output:
 * `[B, S, S, C]` (what the objective predicts: ε, v or x₀).
 *
 * @param config - a checked {@link UNetConfig}.
 * @returns a new `tf.LayersModel`; the caller owns it (`model.dispose()`).
 * @example
 * ```ts
 * const net = buildUNet(UNET_PRESETS.tiny);
 * const out = net.predict([x, t, labels]) as tf.Tensor4D;
 * ```
 */
export function buildUNet(config: UNetConfig): tfl.LayersModel {
  checkUNetConfig('buildUNet', config);
  const c = config;
  const image = tfl.input({ name: 'image', shape: [c.imageSize, c.imageSize, c.channels] });
  const t = tfl.input({ name: 'timestep', shape: [1] });
  const label = c.numClasses > 0 ? tfl.input({ name: 'label', shape: [1] }) : undefined;
  const context = hasContext(c)
    ? ([
        tfl.input({
          name: 'context',
          shape: [c.contextLength ?? DEFAULT_CONTEXT_LENGTH, c.contextDim as number],
        }),
        tfl.input({ name: 'context_mask', shape: [c.contextLength ?? DEFAULT_CONTEXT_LENGTH] }),
      ] as [tfl.SymbolicTensor, tfl.SymbolicTensor])
    : undefined;
  const ctx: Ctx = { c, embAct: embedding(c, t, label), context };
  const skips: tfl.SymbolicTensor[] = [];
  const p = c.patchSize;
  let h = sym(p === 1 ? conv('stem', c.widths[0]) : conv('stem', c.widths[0], p, p), image);
  h = downPath(ctx, h, skips);
  if (c.midAttention) h = attention(ctx, h, 'mid_attn');
  h = upPath(ctx, h, skips);
  h = sym(conv('out_conv', c.channels * p * p, 3, 1, true), normAct(ctx, h, 'out'));
  const out = p === 1 ? h : sym(new PixelShuffle({ name: 'out_unpatchify', factor: p }), h);
  const inputs = [image, t, ...(label ? [label] : []), ...(context ?? [])];
  return tfl.model({ name: 'unet', inputs, outputs: out });
}

/**
 * The U-Net's weights by stable name (`layer/weight`, the same in every
 * instance built from one config): the variables themselves, not copies.
 * @returns a record owned by the model (do not dispose).
 * @example
 * ```ts
 * const params = unetParams(net); // { 'stem/kernel': Variable, … }
 * ```
 */
export function unetParams(net: tfl.LayersModel): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const layer of net.layers) {
    for (const w of layer.weights) out[w.originalName] = w.read() as tf.Variable;
  }
  return out;
}
