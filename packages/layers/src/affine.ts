import { alloc, FoldnetError, formatShape, fromData, matmul, outputShapeOf, reshape, sizeOf, zeros, type AffineOp, type Kernels, type Tensor } from '@foldnet/core';
import { initWeights, type WeightInit } from './init.js';
import { defineOp, getParam, nameField, positiveInt } from './layer.js';
import type { Layer } from './types.js';

/** Hyper-parameters of a dense layer. */
export interface AffineOptions {
  /** Output size (the lesson's hidden_size / output_size). */
  readonly units: number;
  /** Weight initialisation; default 0.01 (the lesson's weight_init_std). */
  readonly weightInit?: WeightInit;
  readonly name?: string;
}

/** y[n, j] = b[j] + sum_i x[n, i] * W[i, j], written into a fresh buffer. */
const linear = (x2: Tensor, w: Tensor, b: Tensor, k: Kernels): Tensor => {
  const xw = matmul(x2, w, { kernels: k });
  const [N, M] = xw.shape;
  const out = alloc(xw.dtype, xw.size);
  for (let n = 0; n < N; n++) for (let j = 0; j < M; j++) out[n * M + j] = xw.data[n * M + j] + b.data[j];
  return fromData(xw.shape, out);
};

/** Column sums of a [N, M] matrix: [M] (a dense layer's db). @example sumRows(fromNested([[1, 2], [3, 4]])) // [4, 6] */
export const sumRows = (m: Tensor): Tensor => {
  const [N, M] = m.shape;
  const out = alloc(m.dtype, M);
  for (let n = 0; n < N; n++) for (let j = 0; j < M; j++) out[j] += m.data[n * M + j];
  return fromData([M], out);
};

/**
 * A dense (fully connected) layer, the lesson's Affine: x [N, ...] is flattened to [N, D] and
 * y = x W + b with W [D, units], b [units]; y: [N, units].
 * Backward: dW = xᵀ dy [D, units], db = sum_n dy [units], dx = dy Wᵀ reshaped to x's shape.
 *
 * @example
 * const l = affine({ units: 100 });  // or affine(100)
 * l.outputShape([30, 12, 12]);       // right([100]); init gives W [4320,100], b [100]
 */
export const affine = (opts: number | AffineOptions): Layer => {
  const o: AffineOptions = typeof opts === 'number' ? { units: opts } : opts;
  const units = positiveInt('affine', 'units', o.units);
  const weightInit = o.weightInit ?? 0.01;
  const op: AffineOp = { type: 'affine', units, weightInit };
  return defineOp(o.name ?? '', (name) => ({
    name,
    kind: 'affine',
    spec: { type: 'affine', ...nameField(name), units, weightInit },
    op,
    outputShape: (inShape) => outputShapeOf(op, [inShape]),
    init: (key, inShape, { dtype = 'float32' } = {}) => {
      const d = sizeOf(inShape);
      return { params: { W: initWeights(key, [d, units], weightInit, d, units, dtype), b: zeros([units], dtype) }, state: {} };
    },
    run: (params, state, x, ctx) => {
      const label = name || 'affine';
      const W = getParam(params, 'W', label);
      const b = getParam(params, 'b', label);
      if (x.shape.length < 2) throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} must have a batch axis and features [N, ...]`);
      const N = x.shape[0];
      const D = sizeOf(x.shape.slice(1));
      if (W.shape.length !== 2 || W.shape[0] !== D) {
        throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} has ${D} features per sample, W ${formatShape(W.shape)} expects ${W.shape[0]}`);
      }
      if (b.shape.length !== 1 || b.shape[0] !== W.shape[1]) {
        throw new FoldnetError('shape', `${label}: b ${formatShape(b.shape)} does not match W ${formatShape(W.shape)}, expected [${W.shape[1]}]`);
      }
      const k = ctx.kernels;
      const x2 = reshape(x, [N, D]);
      const y = linear(x2, W, b, k);
      const needDx = ctx.needInputGrad;
      return {
        y,
        state,
        pullback: (dy) => ({
          dx: needDx ? reshape(matmul(dy, W, { transB: true, kernels: k }), x.shape) : undefined,
          grads: { W: matmul(x2, dy, { transA: true, kernels: k }), b: sumRows(dy) },
        }),
      };
    },
  }));
};
