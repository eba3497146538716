import {
  alloc, FoldnetError, formatShape, fromData, fusedKernelsOf, ones, outputShapeOf, zeros, type BatchNormOp, type BatchNormResult, type BatchNormStats, type Shape, type Tensor,
} from '@foldnet/core';
import { defineOp, getParam, nameField, type ExecContext } from './layer.js';
import type { ForwardResult, Gradients, Layer, LayerState, Params } from './types.js';

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

/** What runs in a batch norm's own pass after it, as the plan decides: nothing, or 'relu', the ReLU that alone reads it (batchNormRelu). */
export type AfterBatchNorm = 'none' | 'relu';

/**
 * A batch norm node's forward by `normalise` (a kernel of the contract: plain, or with what the plan fused after it):
 * train normalises with the batch's statistics and moves the running ones by `momentum`; eval uses the running ones and
 * leaves the state as it is. Gives the output and statistics, the new state and what the pullback reads.
 */
const normalised = (
  name: string, op: BatchNormOp, params: Params, state: LayerState, x: Tensor, ctx: ExecContext,
  normalise: (gamma: Tensor, beta: Tensor, running: BatchNormStats | undefined) => BatchNormResult,
): BatchNormResult & { readonly state: LayerState; readonly gamma: Tensor; readonly train: boolean } => {
  const { momentum } = op;
  const { gamma, beta, runMean, runVar } = batchNormOperands(name, params, state, x.shape);
  const C = x.shape[1];
  const train = ctx.mode === 'train';
  const running = train ? undefined : { mean: Float64Array.from(runMean.data), variance: Float64Array.from(runVar.data) };
  const { out, stats } = normalise(gamma, beta, running);
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
  return { out, stats, state: newState, gamma, train };
};

/**
 * A batch norm node's forward through the kernel contract, with what the plan fused `after` it (see `normalised`). The
 * pullback gives dx (when `ctx.needInputGrad`) and the grads `gamma`, `beta`; after 'relu' it masks dy itself.
 *
 * @example batchNormForward('bn1', { type: 'batchNorm', momentum: 0.9, eps: 1e-5 }, params, state, x, ctx, 'relu').y // relu(bn1(x))
 */
export const batchNormForward = (name: string, op: BatchNormOp, params: Params, state: LayerState, x: Tensor, ctx: ExecContext, after: AfterBatchNorm): ForwardResult => {
  const { eps } = op;
  const k = ctx.kernels;
  const f = normalised(name, op, params, state, x, ctx, (gamma, beta, running) =>
    after === 'none' ? k.batchNorm(x, gamma, beta, eps, running) : fusedKernelsOf(k).batchNormRelu(x, gamma, beta, eps, running));
  const needDx = ctx.needInputGrad;
  return {
    y: f.out,
    state: f.state,
    pullback: (dy: Tensor) => {
      const g = after === 'relu'
        ? fusedKernelsOf(k).batchNormReluBackward(dy, f.out, x, f.gamma, f.stats, eps, f.train, needDx)
        : k.batchNormBackward(dy, x, f.gamma, f.stats, eps, f.train, needDx);
      return { dx: g.dx, grads: { gamma: g.dgamma, beta: g.dbeta } };
    },
  };
};

/** What a residual end's pullback gives: the sum's gradient (the shortcut's, as it is) and the batch norm node's. */
export interface ResidualEndGradients {
  /** dy masked where the end's output <= 0: the gradient of the sum, of the batch norm's value and of the shortcut. */
  readonly dsum: Tensor;
  readonly bn: Gradients;
}

/**
 * A residual block's end through the kernel contract, y = relu(bn(x) + shortcut) (fusion.ts' residualEndAt): the batch
 * norm node's forward (see `normalised`) with the shortcut added and ReLU applied in its pass (batchNormAddRelu). The
 * pullback takes dL/dy and gives the sum's gradient and the batch norm's (batchNormAddReluBackward: ReLU's mask in
 * batch norm's backward, which keeps the masked dy for the shortcut).
 *
 * @example residualEndForward('res1.bn2', { type: 'batchNorm', momentum: 0.9, eps: 1e-5 }, params, state, x, shortcut, ctx).y // relu(res1.bn2(x) + shortcut)
 */
export const residualEndForward = (
  name: string, op: BatchNormOp, params: Params, state: LayerState, x: Tensor, shortcut: Tensor, ctx: ExecContext,
): {
  readonly y: Tensor;
  readonly state: LayerState;
  readonly pullback: (dy: Tensor, dyMore?: Tensor) => ResidualEndGradients;
  /** Whether the pullback takes a second gradient of y apart (its kernel set's takesGradientPairs). */
  readonly takesPair: boolean;
} => {
  const { eps } = op;
  const k = fusedKernelsOf(ctx.kernels);
  const f = normalised(name, op, params, state, x, ctx, (gamma, beta, running) => k.batchNormAddRelu(x, shortcut, gamma, beta, eps, running));
  const needDx = ctx.needInputGrad;
  return {
    y: f.out,
    state: f.state,
    pullback: (dy: Tensor, dyMore?: Tensor) => {
      const g = k.batchNormAddReluBackward(dy, f.out, x, f.gamma, f.stats, eps, f.train, needDx, dyMore);
      return { dsum: g.dsum, bn: { dx: g.dx, grads: { gamma: g.dgamma, beta: g.dbeta } } };
    },
    takesPair: k.takesGradientPairs === true,
  };
};
