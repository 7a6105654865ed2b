// Corrections to tfjs-backend-cpu 4.22 kernels that give wrong numbers.
//
// ResizeNearestNeighborGrad: the shipped kernel reads dy at the *image's*
// batch offset (`batchOffset + dyR * dyStrides[1]`, batchOffset = b·H·W·C of
// the small image), so for batch > 1 every image but the first gets the
// gradient of the wrong pixels; it also ignores halfPixelCenters. A U-Net
// upsampling with resizeNearestNeighbor trains wrongly on cpu with it. The
// replacement below scatters dy back along exactly the forward kernel's
// index map, i.e. it is the forward op's adjoint.
import * as tf from '@tensorflow/tfjs-core';

const BACKEND = 'cpu';

/** Marks kernels registered by sculpt, so a second registration is a no-op. */
const SCULPT_KERNEL = Symbol.for('sculpt.cpuKernel');

interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** Source index of output index `i` along one axis, as tfjs-backend-cpu's forward ResizeNearestNeighbor computes it. */
function nearestSource(i: number, inSize: number, outSize: number, attrs: ResizeAttrs): number {
  const aligned = attrs.alignCorners && outSize > 1;
  const ratio = (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
  const frac = attrs.halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(inSize - 1, attrs.alignCorners ? Math.round(frac) : Math.floor(frac));
  return attrs.halfPixelCenters ? Math.max(0, nearest) : nearest;
}

/** dx[b, src(y), src(x), c] += dy[b, y, x, c] for every output pixel. */
function resizeNearestNeighborGrad({
  inputs,
  backend: anyBackend,
  attrs,
}: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const backend = anyBackend as tf.KernelBackend;
  const resize = attrs as unknown as ResizeAttrs;
  const [batch, inH, inW, depth] = images.shape;
  const [, outH, outW] = dy.shape;
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(batch * inH * inW * depth);
  const srcCol = Int32Array.from({ length: outW }, (_, x) => nearestSource(x, inW, outW, resize));
  let k = 0; // walks dy in order: [B, outH, outW, C]
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outH; y++) {
      const rowBase = (b * inH + nearestSource(y, inH, outH, resize)) * inW;
      for (let x = 0; x < outW; x++) {
        const base = (rowBase + srcCol[x]) * depth;
        for (let c = 0; c < depth; c++) dx[base + c] += dyValues[k++];
      }
    }
  }
  const shape = [batch, inH, inW, depth];
  return { dataId: backend.write(dx, shape, 'float32'), shape, dtype: 'float32' };
}

/**
 * Replaces tfjs-backend-cpu kernels that compute wrong results (currently
 * `ResizeNearestNeighborGrad` for batch > 1). Idempotent; called by
 * `initBackend` when it starts cpu.
 *
 * @example
 * ```ts
 * registerCpuKernels(); // then tf.grad through tf.image.resizeNearestNeighbor is right on cpu
 * ```
 */
export function registerCpuKernels(): void {
  const existing = tf.getKernel(tf.ResizeNearestNeighborGrad, BACKEND) as
    | (tf.KernelConfig & { [SCULPT_KERNEL]?: true })
    | undefined;
  if (existing?.[SCULPT_KERNEL]) return;
  if (existing) tf.unregisterKernel(tf.ResizeNearestNeighborGrad, BACKEND);
  const config = {
    kernelName: tf.ResizeNearestNeighborGrad,
    backendName: BACKEND,
    kernelFunc: resizeNearestNeighborGrad,
    [SCULPT_KERNEL]: true as const,
  };
  tf.registerKernel(config);
}
