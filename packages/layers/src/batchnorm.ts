import { alloc, FoldnetError, formatShape, fromData, ones, outputShapeOf, zeros, type Tensor } from '@foldnet/core';
import { defineOp, getParam, nameField } from './layer.js';
import type { Layer } from './types.js';

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
    run: (params, state, x, ctx) => {
      const label = name || 'batchNorm';
      const gamma = getParam(params, 'gamma', label);
      const beta = getParam(params, 'beta', label);
      const runMean = getParam(state, 'mean', label);
      const runVar = getParam(state, 'var', label);
      if (x.shape.length !== 2 && x.shape.length !== 4) throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} must be [N, D] or [N, C, H, W]`);
      const [N, C] = x.shape;
      for (const [what, t] of [['gamma', gamma], ['beta', beta], ['mean', runMean], ['var', runVar]] as const) {
        if (t.shape.length !== 1 || t.shape[0] !== C) throw new FoldnetError('shape', `${label}: ${what} ${formatShape(t.shape)} does not match input ${formatShape(x.shape)}, expected [${C}]`);
      }
      const S = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1; // spatial positions per channel
      const M = N * S;
      const at = (n: number, c: number, s: number): number => (n * C + c) * S + s;
      const train = ctx.mode === 'train';
      // per-channel statistics, accumulated in double precision
      const mean = new Float64Array(C);
      const invStd = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        if (train) {
          let m = 0;
          for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) m += x.data[at(n, c, s)];
          m /= M;
          let v = 0;
          for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v += (x.data[at(n, c, s)] - m) ** 2;
          mean[c] = m;
          invStd[c] = 1 / Math.sqrt(v / M + eps);
        } else {
          mean[c] = runMean.data[c];
          invStd[c] = 1 / Math.sqrt(runVar.data[c] + eps);
        }
      }
      const xhat = new Float64Array(x.size);
      const y = alloc(x.dtype, x.size);
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++)
          for (let s = 0; s < S; s++) {
            const i = at(n, c, s);
            xhat[i] = (x.data[i] - mean[c]) * invStd[c];
            y[i] = gamma.data[c] * xhat[i] + beta.data[c];
          }
      let newState = state;
      if (train) {
        const m2 = alloc(runMean.dtype, C);
        const v2 = alloc(runVar.dtype, C);
        for (let c = 0; c < C; c++) {
          m2[c] = momentum * runMean.data[c] + (1 - momentum) * mean[c];
          v2[c] = momentum * runVar.data[c] + (1 - momentum) * (1 / (invStd[c] * invStd[c]) - eps);
        }
        newState = { ...state, mean: fromData([C], m2), var: fromData([C], v2) };
      }
      const needDx = ctx.needInputGrad;
      return {
        y: fromData(x.shape, y),
        state: newState,
        pullback: (dy: Tensor) => {
          const sumDy = new Float64Array(C);
          const sumDyXhat = new Float64Array(C);
          for (let n = 0; n < N; n++)
            for (let c = 0; c < C; c++)
              for (let s = 0; s < S; s++) {
                const i = at(n, c, s);
                sumDy[c] += dy.data[i];
                sumDyXhat[c] += dy.data[i] * xhat[i];
              }
          const dgamma = alloc(gamma.dtype, C);
          const dbeta = alloc(beta.dtype, C);
          dgamma.set(sumDyXhat);
          dbeta.set(sumDy);
          let dx: Tensor | undefined;
          if (needDx) {
            const d = alloc(x.dtype, x.size);
            for (let n = 0; n < N; n++)
              for (let c = 0; c < C; c++) {
                const g = gamma.data[c] * invStd[c];
                for (let s = 0; s < S; s++) {
                  const i = at(n, c, s);
                  // train: the batch statistics depend on x too:
                  //   dx = gamma/std * (dy - mean(dy) - xhat * mean(dy * xhat))
                  d[i] = train ? g * (dy.data[i] - sumDy[c] / M - (xhat[i] * sumDyXhat[c]) / M) : g * dy.data[i];
                }
              }
            dx = fromData(x.shape, d);
          }
          return { dx, grads: { gamma: fromData([C], dgamma), beta: fromData([C], dbeta) } };
        },
      };
    },
  }));
};
