import { alloc, fromData, type Tensor } from '@foldnet/core';
import { right } from 'fp-ts/lib/Either.js';
import { defineLayer, nameField } from './layer.js';
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
  kind: string,
  opts: NamedOptions,
  // f fills y from x; df gives dy/dx * dy from x, y and dy at one element
  f: (x: number) => number,
  df: (x: number, y: number, dy: number) => number,
): Layer =>
  defineLayer(opts.name ?? '', (name) => ({
    name,
    kind,
    spec: { type: kind, ...nameField(name) },
    outputShape: (inShape) => right(inShape),
    init: () => ({ params: {}, state: {} }),
    forward: (_params, state, x, ctx) => {
      const out = alloc(x.dtype, x.size);
      for (let i = 0; i < x.size; i++) out[i] = f(x.data[i]);
      const y = fromData(x.shape, out);
      const needDx = ctx.needInputGrad ?? true;
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
  defineLayer(opts.name ?? '', (name) => ({
    name,
    kind: 'relu',
    spec: { type: 'relu', ...nameField(name) },
    outputShape: (inShape) => right(inShape),
    init: () => ({ params: {}, state: {} }),
    // written out (not via `elementwise`): ReLU runs on every conv output, so its loops stay call-free
    forward: (_params, state, x, ctx) => {
      const n = x.size;
      const X = x.data;
      const out = alloc(x.dtype, n);
      for (let i = 0; i < n; i++) out[i] = X[i] <= 0 ? 0 : X[i]; // the lesson's mask (x <= 0): NaN passes through, never hidden
      const needDx = ctx.needInputGrad ?? true;
      return {
        y: fromData(x.shape, out),
        state,
        pullback: (dy: Tensor) => {
          if (!needDx) return { dx: undefined, grads: {} };
          const dx = alloc(dy.dtype, n);
          const D = dy.data;
          for (let i = 0; i < n; i++) dx[i] = X[i] <= 0 ? 0 : D[i];
          return { dx: fromData(x.shape, dx), grads: {} };
        },
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
