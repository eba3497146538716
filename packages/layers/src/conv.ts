import { convGeometry, FoldnetError, formatShape, outputShapeOf, zeros, type Conv2dGrads, type Conv2dOp, type ConvGeometry, type Tensor } from '@foldnet/core';
import { initWeights, type WeightInit } from './init.js';
import { defineOp, getParam, nameField, nonNegativeInt, positiveInt } from './layer.js';
import type { Layer, Params } from './types.js';

/** Hyper-parameters of a 2-D convolution (the lesson's conv_param). */
export interface Conv2dOptions {
  /** Number of filters FN (the lesson's filter_num). */
  readonly filters: number;
  /** Square filter size FH = FW (the lesson's filter_size). */
  readonly size: number;
  /** Default 1. */
  readonly stride?: number;
  /** Zero padding on every side; default 0. */
  readonly pad?: number;
  /** Weight initialisation; default 0.01 (the lesson's weight_init_std). */
  readonly weightInit?: WeightInit;
  /**
   * Whether the convolution adds a bias `b` [FN]; default true. false for a convolution followed by batch norm,
   * whose beta does a bias's work (PyTorch's ResNets: `Conv2d(..., bias=False)`): no param `b`, no gradient for it.
   */
  readonly bias?: boolean;
  readonly name?: string;
}

/**
 * A convolution's grads by param name: W, and b when it has a bias (the kernels are asked for db only then).
 *
 * @example convGrads('conv1', k.conv2dBackwardFromInput(dy, x, W, g, false, true), true) // { W: dW, b: db }
 */
export const convGrads = (label: string, r: Conv2dGrads, bias: boolean): Params => {
  if (!bias) return { W: r.dw };
  if (r.db === undefined) throw new FoldnetError('value', `${label}: the kernels' convolution backward gave no bias gradient`);
  return { W: r.dw, b: r.db };
};

/**
 * A convolution's checked operands: W [FN, C, FH, FW] and b [FN] from `params` (zeros for a convolution without
 * bias: adding 0 changes no value the kernels give), agreeing with x [N, C, H, W] in channels and dtype, and the
 * geometry. Throws naming the layer (`conv1: input has 3 channels, filters expect 1`).
 */
export const convOperands = (label: string, params: Params, x: Tensor, stride: number, pad: number, bias = true): { W: Tensor; b: Tensor; g: ConvGeometry } => {
  const W = getParam(params, 'W', label);
  const b = bias ? getParam(params, 'b', label) : zeros([W.shape[0] ?? 0], W.dtype);
  if (x.shape.length !== 4) throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} must be 4-D [N, C, H, W]`);
  if (W.shape.length !== 4) throw new FoldnetError('shape', `${label}: W ${formatShape(W.shape)} must be 4-D [FN, C, FH, FW]`);
  if (x.shape[1] !== W.shape[1]) throw new FoldnetError('shape', `${label}: input has ${x.shape[1]} channels, filters expect ${W.shape[1]}`);
  if (b.shape.length !== 1 || b.shape[0] !== W.shape[0]) {
    throw new FoldnetError('shape', `${label}: b ${formatShape(b.shape)} does not match W ${formatShape(W.shape)}, expected [${W.shape[0]}]`);
  }
  if (x.dtype !== W.dtype || x.dtype !== b.dtype) throw new FoldnetError('dtype', `${label}: dtypes differ (x ${x.dtype}, W ${W.dtype}, b ${b.dtype})`);
  const g = convGeometry(label, { inH: x.shape[2], inW: x.shape[3], filterH: W.shape[2], filterW: W.shape[3], stride, pad });
  return { W, b, g };
};

/**
 * A 2-D convolution, the lesson's Convolution (im2col + matmul in the kernels):
 * x [N, C, H, W], W [FN, C, FH, FW], b [FN] -> y [N, FN, OH, OW] with
 * OH = floor((H + 2 pad - FH) / stride) + 1 (likewise OW). Backward gives dW, db and dx (col2im).
 *
 * @example
 * const c = conv2d({ filters: 30, size: 5 });
 * c.outputShape([1, 28, 28]); // right([30, 24, 24]); init gives W [30,1,5,5], b [30]
 * conv2d({ filters: 16, size: 3, pad: 1, bias: false }); // W alone: before a batch norm
 */
export const conv2d = (o: Conv2dOptions): Layer => {
  const filters = positiveInt('conv2d', 'filters', o.filters);
  const size = positiveInt('conv2d', 'size', o.size);
  const stride = positiveInt('conv2d', 'stride', o.stride ?? 1);
  const pad = nonNegativeInt('conv2d', 'pad', o.pad ?? 0);
  const weightInit = o.weightInit ?? 0.01;
  const bias = o.bias ?? true;
  if (typeof bias !== 'boolean') throw new FoldnetError('value', `conv2d: bias must be true or false, got ${String(bias)}`);
  // Without bias the op and spec say so; with it they stay as they always were (specs and checkpoints unchanged).
  const noBias = bias ? {} : { bias: false };
  const op: Conv2dOp = { type: 'conv2d', filters, size, stride, pad, weightInit, ...noBias };
  return defineOp(o.name ?? '', (name) => ({
    name,
    kind: 'conv2d',
    spec: { type: 'conv2d', ...nameField(name), filters, size, stride, pad, weightInit, ...noBias },
    op,
    outputShape: (s) => outputShapeOf(op, [s]),
    init: (key, s, { dtype = 'float32' } = {}) => {
      const fanIn = s[0] * size * size;
      return {
        params: { W: initWeights(key, [filters, s[0], size, size], weightInit, fanIn, filters * size * size, dtype), ...(bias ? { b: zeros([filters], dtype) } : {}) },
        state: {},
      };
    },
    run: (params, state, x, ctx) => {
      const label = name || 'conv2d';
      const { W, b, g } = convOperands(label, params, x, stride, pad, bias);
      const k = ctx.kernels;
      if (!ctx.needGrad) {
        // nobody differentiates this forward: the output alone, without the im2col matrix a pullback would read
        const y = k.conv2dOut(x, W, b, g);
        return { y, state, pullback: () => { throw new FoldnetError('value', `${label}: pullback called on a forward run with needGrad false`); } };
      }
      // The pullback keeps x and runs im2col again rather than keeping col, which is OH*OW*FH*FW/(H*W) times
      // larger (~18x for the lesson's first conv): less memory held between forward and backward, and no col
      // copied out of the fast kernels' working memory.
      const y = k.conv2dOut(x, W, b, g);
      const needDx = ctx.needInputGrad;
      return {
        y,
        state,
        pullback: (dy) => {
          const r = k.conv2dBackwardFromInput(dy, x, W, g, needDx, bias);
          return { dx: r.dx, grads: convGrads(label, r, bias) };
        },
      };
    },
  }));
};
