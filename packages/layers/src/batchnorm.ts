import { alloc, FoldnetError, formatShape, fromData, fusedKernelsOf, ones, outputShapeOf, zeros, type BatchNormOp, type Shape, type Tensor } from '@foldnet/core';
import { defineOp, getParam, nameField, type ExecContext } from './layer.js';
import type { ForwardResult, Layer, LayerState, Params } from './types.js';

/** Hyper-parameters of batch normalization. */
export interface BatchNormOptions {
  /** Running statistics: r = momentum * r + (1 - momentum) * batch; default 0.9 (the book's). */
  readonly momentum?: number;
  /** Added to the variance before the square root; default 1e-5 (ONNX's default). */
  readonly eps?: number;
  readonly name?: string;
}

/**
 * Batch normalization per feature: after a dense layer x [N, D] each of the D features, after a
 * convolution x [N, C, H, W] each channel over N, H and W (spatial batch norm, ONNX
 * BatchNormalization; the book flattens C*H*W into features instead).
 *   train: xhat = (x - mean_batch) / sqrt(var_batch + eps), y = gamma * xhat + beta, and the
 *          running `mean`, `var` (biased batch variance, as the book) move by `momentum`;
 *   eval:  the same with the running statistics; the state is unchanged.
 * Params gamma [C] (ones), beta [C] (zeros); state mean [C] (zeros), var [C] (ones).
 *
 * @example network([100], [batchNorm(), relu()]) // params bn1.gamma, bn1.beta; state bn1.mean, bn1.var
 */
export const batchNorm = (o: BatchNormOptions = {}): Layer => {
  const momentum = o.momentum ?? 0.9;
  const eps = o.eps ?? 1e-5;
  if (!(momentum >= 0 && momentum <= 1)) throw new FoldnetError('value', `batchNorm: momentum must be in [0, 1], got ${momentum}`);
  if (!(eps > 0)) throw new FoldnetError('value', `batchNorm: eps must be positive, got ${eps}`);
  return defineOp(o.name ?? '', (name) => ({
    name,
    kind: 'batchNorm',
    spec: { type: 'batchNorm', ...nameField(name), momentum, eps },
    op: { type: 'batchNorm', momentum, eps },
    outputShape: (s) => outputShapeOf({ type: 'batchNorm', momentum, eps }, [s]),
    init: (_key, s, { dtype = 'float32' } = {}) => ({
      params: { gamma: ones([s[0]], dtype), beta: zeros([s[0]], dtype) },
      state: { mean: zeros([s[0]], dtype), var: ones([s[0]], dtype) },
    }),
    run: (params, state, x, ctx) => batchNormForward(name, { type: 'batchNorm', momentum, eps }, params, state, x, ctx, 'none'),
  }));
};

/**
 * A batch norm node's params and state, checked against its input's shape [N, D] or [N, C, H, W]: errors name the
 * layer and what does not match.
 *
 * @example batchNormOperands('bn1', params, state, [100, 16, 28, 28]).gamma // [16]
 */
export const batchNormOperands = (name: string, params: Params, state: LayerState, xShape: Shape): { gamma: Tensor; beta: Tensor; runMean: Tensor; runVar: Tensor } => {
  const label = name || 'batchNorm';
  const gamma = getParam(params, 'gamma', label);
  const beta = getParam(params, 'beta', label);
  const runMean = getParam(state, 'mean', label);
  const runVar = getParam(state, 'var', label);
  if (xShape.length !== 2 && xShape.length !== 4) throw new FoldnetError('shape', `${label}: input ${formatShape(xShape)} must be [N, D] or [N, C, H, W]`);
  const C = xShape[1];
  for (const [what, t] of [['gamma', gamma], ['beta', beta], ['mean', runMean], ['var', runVar]] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== C) throw new FoldnetError('shape', `${label}: ${what} ${formatShape(t.shape)} does not match input ${formatShape(xShape)}, expected [${C}]`);
  }
  return { gamma, beta, runMean, runVar };
};

/**
 * What runs in a batch norm's own pass after it, as the plan decides: nothing; 'relu', the ReLU that alone reads it
 * (batchNormRelu); or `addRelu`, a residual block's end (fusion.ts' residualEndAt): the shortcut added, then ReLU.
 */
export type AfterBatchNorm = 'none' | 'relu' | { readonly addRelu: Tensor };

/**
 * A batch norm node's forward through the kernel contract, with what the plan fused `after` it: train normalises with
 * the batch's statistics and moves the running ones by `momentum`; eval uses the running ones and leaves the state as
 * it is. The pullback gives dx (when `ctx.needInputGrad`) and the grads `gamma`, `beta`; after 'relu' it masks dy
 * itself, after `addRelu` (y = relu(bn(x) + addend), batchNormAddRelu) it is batch norm's own: it takes dL/d bn(x), the
 * dy the sum's pullback masked (and gave the shortcut too).
 *
 * @example batchNormForward('bn1', { type: 'batchNorm', momentum: 0.9, eps: 1e-5 }, params, state, x, ctx, 'relu').y // relu(bn1(x))
 */
export const batchNormForward = (name: string, op: BatchNormOp, params: Params, state: LayerState, x: Tensor, ctx: ExecContext, after: AfterBatchNorm): ForwardResult => {
  const { momentum, eps } = op;
  const { gamma, beta, runMean, runVar } = batchNormOperands(name, params, state, x.shape);
  const C = x.shape[1];
  const train = ctx.mode === 'train';
  const running = train ? undefined : { mean: Float64Array.from(runMean.data), variance: Float64Array.from(runVar.data) };
  const k = ctx.kernels;
  const { out, stats } = after === 'none'
    ? k.batchNorm(x, gamma, beta, eps, running)
    : after === 'relu' ? fusedKernelsOf(k).batchNormRelu(x, gamma, beta, eps, running) : fusedKernelsOf(k).batchNormAddRelu(x, after.addRelu, gamma, beta, eps, running);
  let newState = state;
  if (train) {
    const m2 = alloc(runMean.dtype, C);
    const v2 = alloc(runVar.dtype, C);
    for (let c = 0; c < C; c++) {
      m2[c] = momentum * runMean.data[c] + (1 - momentum) * stats.mean[c];
      v2[c] = momentum * runVar.data[c] + (1 - momentum) * stats.variance[c];
    }
    newState = { ...state, mean: fromData([C], m2), var: fromData([C], v2) };
  }
  const needDx = ctx.needInputGrad;
  return {
    y: out,
    state: newState,
    pullback: (dy: Tensor) => {
      const g = after === 'relu'
        ? fusedKernelsOf(k).batchNormReluBackward(dy, out, x, gamma, stats, eps, train, needDx)
        : k.batchNormBackward(dy, x, gamma, stats, eps, train, needDx);
      return { dx: g.dx, grads: { gamma: g.dgamma, beta: g.dbeta } };
    },
  };
};
