/**
 * A layer written by a user: leaky ReLU, y = x for x > 0 and alpha * x otherwise.
 *
 * A foldnet layer is a plain value with three functions (see packages/layers/src/types.ts):
 *   outputShape(inShape)            -> Either<ShapeIssue, Shape>   per-sample shapes, before any data
 *   init(key, inShape)              -> { params, state }           none here
 *   forward(params, state, x, ctx)  -> { y, state, pullback }      x: [N, ...], any shape
 *   pullback(dy)                    -> { dx, grads }               the vector-Jacobian product
 * `defineLayer` freezes it and lets `network` rename it (leakyRelu1, leakyRelu2, ...).
 *
 * Used by examples/custom-layer.ts and examples/property-test/leaky-relu.test.ts.
 */
import { alloc, fromData, FoldnetError, type Tensor } from '@foldnet/core';
import { defineLayer, type Layer } from '@foldnet/layers';
import { right } from 'fp-ts/lib/Either.js';

/** Options of `leakyRelu`. */
export interface LeakyReluOptions {
  /** The slope for x <= 0; default 0.01. 0 gives ReLU, 1 the identity. */
  readonly alpha?: number;
  readonly name?: string;
}

/**
 * Leaky ReLU: y = x if x > 0 else alpha * x; dx = dy if x > 0 else alpha * dy. Any shape.
 *
 * @example leakyRelu({ alpha: 0.1 }).forward({}, {}, fromNested([[-1, 2]]), { mode: 'eval' }).y // [[-0.1, 2]]
 */
export const leakyRelu = (opts: LeakyReluOptions = {}): Layer => {
  const alpha = opts.alpha ?? 0.01;
  if (!Number.isFinite(alpha)) throw new FoldnetError('value', `leakyRelu: alpha must be a finite number, got ${alpha}`);
  return defineLayer(opts.name ?? '', (name) => ({
    name,
    kind: 'leakyRelu',
    spec: { type: 'leakyRelu', alpha, ...(name ? { name } : {}) },
    outputShape: (inShape) => right(inShape),
    init: () => ({ params: {}, state: {} }),
    forward: (_params, state, x) => {
      // a fresh buffer, written only here: the input is never touched
      const out = alloc(x.dtype, x.size);
      for (let i = 0; i < x.size; i++) out[i] = x.data[i] > 0 ? x.data[i] : alpha * x.data[i];
      return {
        y: fromData(x.shape, out),
        state,
        // the closure keeps x: the derivative's mask is x > 0
        pullback: (dy: Tensor) => {
          const dx = alloc(x.dtype, x.size);
          for (let i = 0; i < x.size; i++) dx[i] = x.data[i] > 0 ? dy.data[i] : alpha * dy.data[i];
          return { dx: fromData(x.shape, dx), grads: {} };
        },
      };
    },
  }));
};
