import { alloc, fromData, type Tensor } from '@foldnet/core';
import { right } from 'fp-ts/lib/Either.js';
import { defineOp, nameField } from './layer.js';
import type { Layer } from './types.js';

/*
 * Element-wise activations. Each keeps what its derivative needs in the pullback's closure:
 * ReLU its mask, sigmoid and tanh their output (the derivative is a function of y).
 */

/** Options shared by layers that have no hyper-parameters. */
export interface NamedOptions {
  readonly name?: string;
}

const elementwise = (
  kind: 'sigmoid' | 'tanh',
  opts: NamedOptions,
  // f fills y from x; df gives dy/dx * dy from x, y and dy at one element
  f: (x: number) => number,
  df: (x: number, y: number, dy: number) => number,
): Layer =>
  defineOp(opts.name ?? '', (name) => ({
    name,
    kind,
    spec: { type: kind, ...nameField(name) },
    op: { type: kind },
    outputShape: (inShape) => right(inShape),
    init: () => ({ params: {}, state: {} }),
    run: (_params, state, x, ctx) => {
      const out = alloc(x.dtype, x.size);
      for (let i = 0; i < x.size; i++) out[i] = f(x.data[i]);
      const y = fromData(x.shape, out);
      const needDx = ctx.needInputGrad;
      return {
        y,
        state,
        pullback: (dy: Tensor) => {
          if (!needDx) return { dx: undefined, grads: {} };
          const dx = alloc(x.dtype, x.size);
          for (let i = 0; i < x.size; i++) dx[i] = df(x.data[i], y.data[i], dy.data[i]);
          return { dx: fromData(x.shape, dx), grads: {} };
        },
      };
    },
  }));

/**
 * ReLU: y = max(0, x); dx = dy where x > 0, else 0 (the lesson's mask is x <= 0). Any shape.
 *
 * @example relu().forward({}, {}, fromNested([[-1, 2]]), { mode: 'eval' }).y // [[0, 2]]
 */
export const relu = (opts: NamedOptions = {}): Layer =>
  defineOp(opts.name ?? '', (name) => ({
    name,
    kind: 'relu',
    spec: { type: 'relu', ...nameField(name) },
    op: { type: 'relu' },
    outputShape: (inShape) => right(inShape),
    init: () => ({ params: {}, state: {} }),
    // through the kernel contract: the fast set does both passes branch-free in SIMD (ReLU runs on every conv output)
    run: (_params, state, x, ctx) => {
      const k = ctx.kernels;
      const needDx = ctx.needInputGrad;
      return {
        y: k.relu(x),
        state,
        pullback: (dy: Tensor) => (needDx ? { dx: k.reluBackward(x, dy), grads: {} } : { dx: undefined, grads: {} }),
      };
    },
  }));

/**
 * Sigmoid: y = 1 / (1 + e^-x); dx = dy * y * (1 - y). Any shape.
 *
 * @example sigmoid().forward({}, {}, fromNested([[0]]), { mode: 'eval' }).y // [[0.5]]
 */
export const sigmoid = (opts: NamedOptions = {}): Layer =>
  elementwise('sigmoid', opts, (x) => 1 / (1 + Math.exp(-x)), (_x, y, dy) => dy * y * (1 - y));

/**
 * Tanh: y = tanh(x); dx = dy * (1 - y²). Any shape.
 *
 * @example tanh().forward({}, {}, fromNested([[0]]), { mode: 'eval' }).y // [[0]]
 */
export const tanh = (opts: NamedOptions = {}): Layer =>
  elementwise('tanh', opts, Math.tanh, (_x, y, dy) => dy * (1 - y * y));
