import { convGeometry, FoldnetError, formatShape, outputShapeOf, type ConvGeometry, type Kernels, type Pool2dOp, type Tensor } from '@foldnet/core';
import { defineOp, nameField, nonNegativeInt, positiveInt } from './layer.js';
import type { NamedOptions } from './activations.js';
import type { Layer } from './types.js';

/** Hyper-parameters of a pooling layer (the lesson's Pooling(pool_h, pool_w, stride, pad)). */
export interface Pool2dOptions {
  /** Square window size (the lesson's pool_h = pool_w). */
  readonly size: number;
  /** Default: the window size (non-overlapping windows, as the lesson's 2x2 stride 2). */
  readonly stride?: number;
  /** Padding on every side, at most size/2 (as ONNX Runtime and PyTorch require); default 0. */
  readonly pad?: number;
  readonly name?: string;
}

type PoolKind = 'maxPool2d' | 'avgPool2d';

// Forward and backward of one pooling kind through the kernel contract.
type PoolImpl = (k: Kernels, x: Tensor, g: ConvGeometry) => { y: Tensor; back: (dy: Tensor) => Tensor };

const pool = (kind: PoolKind, o: Pool2dOptions, impl: PoolImpl): Layer => {
  const size = positiveInt(kind, 'size', o.size);
  const stride = positiveInt(kind, 'stride', o.stride ?? size);
  const pad = nonNegativeInt(kind, 'pad', o.pad ?? 0);
  if (2 * pad > size) throw new FoldnetError('value', `${kind}: pad ${pad} must be at most half the window size ${size}`);
  const op: Pool2dOp = { type: kind, size, stride, pad };
  return defineOp(o.name ?? '', (name) => ({
    name,
    kind,
    spec: { type: kind, ...nameField(name), size, stride, pad },
    op,
    outputShape: (s) => outputShapeOf(op, [s]),
    init: () => ({ params: {}, state: {} }),
    run: (_params, state, x, ctx) => {
      const label = name || kind;
      if (x.shape.length !== 4) throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} must be 4-D [N, C, H, W]`);
      const g = convGeometry(label, { inH: x.shape[2], inW: x.shape[3], filterH: size, stride, pad });
      const k = ctx.kernels;
      if (!ctx.needGrad && kind === 'maxPool2d') {
        // nobody differentiates this forward: the pooled values without the argmax a pullback would read
        const y = k.maxPool2dOut(x, g);
        return { y, state, pullback: () => { throw new FoldnetError('value', `${label}: pullback called on a forward run with needGrad false`); } };
      }
      const { y, back } = impl(k, x, g);
      const needDx = ctx.needInputGrad;
      return { y, state, pullback: (dy) => ({ dx: needDx ? back(dy) : undefined, grads: {} }) };
    },
  }));
};

/**
 * Max pooling over size x size windows: x [N, C, H, W] -> [N, C, OH, OW]. Padding counts as
 * -Infinity (never the maximum). Backward routes each dy to the position of its window's maximum,
 * the first one on ties (numpy's argmax, as the lesson's Pooling).
 *
 * @example maxPool2d({ size: 2 }).outputShape([30, 24, 24]) // right([30, 12, 12])
 */
export const maxPool2d = (o: Pool2dOptions): Layer =>
  pool('maxPool2d', o, (k, x, g) => {
    const { out, argmax } = k.maxPool2d(x, g);
    return { y: out, back: (dy) => k.maxPool2dBackward(dy, argmax, x.shape) };
  });

/**
 * Average pooling: the mean over the whole size x size window, padding counted as zeros (ONNX
 * AveragePool with count_include_pad=1): x [N, C, H, W] -> [N, C, OH, OW].
 *
 * @example avgPool2d({ size: 2 }).outputShape([16, 28, 28]) // right([16, 14, 14])
 */
export const avgPool2d = (o: Pool2dOptions): Layer =>
  pool('avgPool2d', o, (k, x, g) => ({ y: k.avgPool2d(x, g), back: (dy) => k.avgPool2dBackward(dy, x.shape, g) }));

/**
 * Global average pooling: the mean of each channel over all its positions, x [N, C, H, W] -> [N, C] (the
 * head of a ResNet, in place of flatten and a large dense layer). Backward spreads dy[n, c] / (H W) over
 * the channel's positions. Sums run in double precision and are rounded once (the kernels' globalAvgPool2d).
 *
 * @example globalAvgPool2d().outputShape([64, 7, 7]) // right([64])
 */
export const globalAvgPool2d = (opts: NamedOptions = {}): Layer => {
  const op = { type: 'globalAvgPool2d' } as const;
  return defineOp(opts.name ?? '', (name) => ({
    name,
    kind: 'globalAvgPool2d',
    spec: { type: 'globalAvgPool2d', ...nameField(name) },
    op,
    outputShape: (s) => outputShapeOf(op, [s]),
    init: () => ({ params: {}, state: {} }),
    run: (_params, state, x, ctx) => {
      const label = name || 'globalAvgPool2d';
      if (x.shape.length !== 4) throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} must be 4-D [N, C, H, W]`);
      const k = ctx.kernels;
      const needDx = ctx.needInputGrad;
      return {
        y: k.globalAvgPool2d(x),
        state,
        pullback: (dy) => ({ dx: needDx ? k.globalAvgPool2dBackward(dy, x.shape) : undefined, grads: {} }),
      };
    },
  }));
};
