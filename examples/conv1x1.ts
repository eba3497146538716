/**
 * A layer with parameters, written by a user: a 1x1 convolution (a per-pixel affine map across
 * channels, as in Network-in-Network and the bottlenecks of ResNet).
 *
 *   x [N, C, H, W], W [F, C], b [F]  ->  y [N, F, H, W],  y[n,f,p] = Σ_c W[f,c] x[n,c,p] + b[f]
 *   pullback dy [N, F, H, W]:  dW[f,c] = Σ_{n,p} dy[n,f,p] x[n,c,p]
 *                              db[f]   = Σ_{n,p} dy[n,f,p]
 *                              dx[n,c,p] = Σ_f W[f,c] dy[n,f,p]
 * (p runs over the H*W pixels.) `init` draws W from the key it is given, so the same key gives the
 * same params; the gradients come back named like the params (`W`, `b`).
 *
 * Used by examples/custom-layer.ts and examples/property-test/conv1x1.test.ts.
 */
import { alloc, FoldnetError, formatShape, fromData, type Tensor } from '@foldnet/core';
import { defineLayer, initWeights, type Layer, type Params, type WeightInit } from '@foldnet/layers';
import { left, right } from 'fp-ts/lib/Either.js';

/** Options of `conv1x1`. */
export interface Conv1x1Options {
  /** Output channels F. */
  readonly filters: number;
  /** Weight init: a std, or 'he' (the default), 'xavier', 'glorot'; fan-in is C. */
  readonly weightInit?: WeightInit;
  readonly name?: string;
}

const param = (params: Params, label: string, p: string): Tensor => {
  const t = params[p];
  if (t === undefined) throw new FoldnetError('value', `${label}: missing param '${p}'`);
  return t;
};

/**
 * A 1x1 convolution: [N, C, H, W] -> [N, F, H, W], params W [F, C] and b [F].
 *
 * @example conv1x1({ filters: 4 }).outputShape([16, 7, 7]) // right([4, 7, 7])
 */
export const conv1x1 = (opts: Conv1x1Options): Layer => {
  const F = opts.filters;
  if (!Number.isInteger(F) || F < 1) throw new FoldnetError('value', `conv1x1: filters must be a positive integer, got ${F}`);
  const weightInit = opts.weightInit ?? 'he';
  return defineLayer(opts.name ?? '', (name) => ({
    name,
    kind: 'conv1x1',
    spec: { type: 'conv1x1', filters: F, ...(name ? { name } : {}) },
    outputShape: (s) => (s.length === 3 ? right([F, s[1], s[2]]) : left({ expected: 'a 3-D input [C, H, W]' })),
    init: (key, s, o) => ({
      params: { W: initWeights(key, [F, s[0]], weightInit, s[0], F, o?.dtype), b: fromData([F], alloc(o?.dtype ?? 'float32', F)) },
      state: {},
    }),
    forward: (params, state, x) => {
      const label = name || 'conv1x1';
      const W = param(params, label, 'W');
      const b = param(params, label, 'b');
      if (x.shape.length !== 4) throw new FoldnetError('shape', `${label}: input ${formatShape(x.shape)} must be 4-D [N, C, H, W]`);
      const [N, C, H, Wd] = x.shape;
      if (W.shape[1] !== C) throw new FoldnetError('shape', `${label}: input has ${C} channels, W ${formatShape(W.shape)} expects ${W.shape[1]}`);
      const P = H * Wd;
      const y = alloc(x.dtype, N * F * P);
      for (let n = 0; n < N; n++)
        for (let f = 0; f < F; f++)
          for (let p = 0; p < P; p++) {
            let acc = b.data[f];
            for (let c = 0; c < C; c++) acc += W.data[f * C + c] * x.data[(n * C + c) * P + p];
            y[(n * F + f) * P + p] = acc;
          }
      return {
        y: fromData([N, F, H, Wd], y),
        state,
        pullback: (dy: Tensor) => {
          const dW = alloc(W.dtype, F * C);
          const db = alloc(b.dtype, F);
          const dx = alloc(x.dtype, x.size);
          for (let n = 0; n < N; n++)
            for (let f = 0; f < F; f++)
              for (let p = 0; p < P; p++) {
                const g = dy.data[(n * F + f) * P + p];
                db[f] += g;
                for (let c = 0; c < C; c++) {
                  dW[f * C + c] += g * x.data[(n * C + c) * P + p];
                  dx[(n * C + c) * P + p] += W.data[f * C + c] * g;
                }
              }
          return { dx: fromData(x.shape, dx), grads: { W: fromData([F, C], dW), b: fromData([F], db) } };
        },
      };
    },
  }));
};
