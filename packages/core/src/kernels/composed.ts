import type { ConvGeometry } from '../geometry.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { BatchNormAddReluGrads, BatchNormGrads, BatchNormResult, BatchNormStats, Conv2dGrads, ConvReluPoolResult, FusedKernels, Kernels } from './contract.js';

/**
 * The fused chains as the compositions they stand for, over any kernel set: the definition of what each fused
 * kernel must equal, and the oracle the fast set's fused kernels are tested against.
 *
 * @example composedFusions(referenceKernels).conv2dRelu(x, w, b, g) // relu(conv2dOut(x, w, b, g))
 */
export const composedFusions = (k: Kernels): FusedKernels =>
  Object.freeze({
    takesGradientPairs: true,
    conv2dRelu: (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor => k.relu(k.conv2dOut(x, w, b, g)),
    conv2dReluBackward: (dy: Tensor, out: Tensor, x: Tensor, w: Tensor, g: ConvGeometry, needDx: boolean): Conv2dGrads =>
      k.conv2dBackwardFromInput(k.reluBackward(out, dy), x, w, g, needDx),
    // pool, then ReLU: the values of ReLU then pool (see the contract)
    conv2dReluMaxPool: (x: Tensor, w: Tensor, b: Tensor, conv: ConvGeometry, pool: ConvGeometry, keepArgmax: boolean): ConvReluPoolResult => {
      const pooled = k.maxPool2d(k.conv2dOut(x, w, b, conv), pool);
      return { out: k.relu(pooled.out), argmax: keepArgmax ? pooled.argmax : new Int32Array(0) };
    },
    // `out` <= 0 exactly where the pooled value was (ReLU maps x <= 0 to 0 and keeps the rest), so it masks as the pooled value would
    conv2dReluMaxPoolBackward: (dy: Tensor, out: Tensor, argmax: Int32Array, x: Tensor, w: Tensor, conv: ConvGeometry, convShape: Shape, needDx: boolean): Conv2dGrads =>
      k.conv2dBackwardFromInput(k.maxPool2dBackward(k.reluBackward(out, dy), argmax, convShape), x, w, conv, needDx),
    batchNormRelu: (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult => {
      const r = k.batchNorm(x, gamma, beta, eps, running);
      return { out: k.relu(r.out), stats: r.stats };
    },
    batchNormReluBackward: (dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads =>
      k.batchNormBackward(k.reluBackward(out, dy), x, gamma, stats, eps, batchStats, needDx),
    addRelu: (a: Tensor, b: Tensor): Tensor => k.relu(k.add(a, b)),
    batchNormAddRelu: (x: Tensor, addend: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult => {
      const r = k.batchNorm(x, gamma, beta, eps, running);
      return { out: k.relu(k.add(r.out, addend)), stats: r.stats };
    },
    batchNormAddReluBackward: (
      dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean, dyMore?: Tensor,
    ): BatchNormAddReluGrads => {
      const dsum = k.reluBackward(out, dyMore === undefined ? dy : k.add(dy, dyMore));
      return { ...k.batchNormBackward(dsum, x, gamma, stats, eps, batchStats, needDx), dsum };
    },
    conv2dAddRelu: (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, addend: Tensor): Tensor => k.relu(k.add(k.conv2dOut(x, w, b, g), addend)),
  });

/**
 * A kernel set's fused chains: its own where it has them, else their composition over it.
 *
 * @example fusedKernelsOf(kernels()).conv2dReluMaxPool(x, w, b, conv, pool, true)
 */
export const fusedKernelsOf = (k: Kernels): FusedKernels => k.fused ?? composedFusions(k);
