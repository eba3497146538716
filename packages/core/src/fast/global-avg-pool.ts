import { referenceKernels } from '../kernels/reference.js';
import { sizeOf, type Shape } from '../shape.js';
import { fromData, type Tensor } from '../tensor.js';
import { inputAt, resultOut, resultSlot, workspace } from './layout.js';
import { runChunks } from './threads.js';

/*
 * Global average pooling in the fast set (wasm/global-avg-pool.wat), a ResNet's head: the input read where the last
 * kernel left it and the result written into a result slot, so that in a training step's scope neither is copied, and
 * the pullback's dx is where the block before the pool reads it. The sums are the reference's (float64, in order,
 * rounded once), so the backends agree bit for bit.
 */

/**
 * Below this many floats of the pool's input (forward and backward alike) the work stays on the calling thread: the
 * threshold kernels.ts measured for ReLU's pullback (a load or two and a store per float, as here), split from 2^16.
 */
const PARALLEL_MIN_FLOATS = 1 << 16;

/** The fast set's globalAvgPool2d, x [N, C, H, W] -> [N, C], split across the threads by planes. @example fastKernels.globalAvgPool2d(x) */
export const globalAvgPool2d = (x: Tensor): Tensor => {
  if (x.dtype === 'float64') return referenceKernels.globalAvgPool2d(x);
  const [N, C, H, W] = x.shape;
  const planes = N * C;
  const out = resultSlot(planes, [x.data]);
  const [px] = workspace([x.size]);
  // whole groups of the 8 planes the kernel sums side by side
  runChunks('globalAvgPoolPlanes', planes, 8, [inputAt(x.data, px), H * W, out.offset], x.size >= PARALLEL_MIN_FLOATS);
  return fromData([N, C], resultOut(out, planes));
};

/** The fast set's globalAvgPool2dBackward, dy [N, C] -> dx [N, C, H, W], split by planes. @example fastKernels.globalAvgPool2dBackward(dy, x.shape) */
export const globalAvgPool2dBackward = (dy: Tensor, xShape: Shape): Tensor => {
  if (dy.dtype === 'float64') return referenceKernels.globalAvgPool2dBackward(dy, xShape);
  const [N, C, H, W] = xShape;
  const n = sizeOf(xShape);
  const out = resultSlot(n, [dy.data]);
  const [pdy] = workspace([dy.size]);
  runChunks('globalAvgPoolBackwardPlanes', N * C, 1, [inputAt(dy.data, pdy), H * W, out.offset], n >= PARALLEL_MIN_FLOATS);
  return fromData(xShape, resultOut(out, n));
};
