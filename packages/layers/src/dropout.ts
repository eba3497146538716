import { alloc, FoldnetError, fromData, uniform } from '@foldnet/core';
import { right } from 'fp-ts/lib/Either.js';
import { defineOp, nameField } from './layer.js';
import type { Layer } from './types.js';

/** Hyper-parameters of dropout. */
export interface DropoutOptions {
  /** Probability of dropping a unit, in [0, 1); default 0.5 (the book's dropout_ratio). */
  readonly rate?: number;
  readonly name?: string;
}

/**
 * Dropout with INVERTED scaling: in train mode each element is kept with probability 1 - rate
 * and scaled by 1 / (1 - rate) (mask drawn from `ctx.key`, which is required); in eval mode it is
 * the identity. The book instead multiplies by (1 - rate) at evaluation; both have the same
 * expectation, and inverted scaling makes inference (and ONNX export, where Dropout is the
 * identity) need nothing. Backward: dx = dy * mask / (1 - rate). Any shape.
 *
 * @example
 * dropout({ rate: 0.5 }).forward({}, {}, x, { mode: 'train', key: key(1) }).y // about half zeros, the rest 2x
 */
export const dropout = (o: DropoutOptions = {}): Layer => {
  const rate = o.rate ?? 0.5;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new FoldnetError('value', `dropout: rate must be in [0, 1), got ${String(rate)}`);
  return defineOp(o.name ?? '', (name) => ({
    name,
    kind: 'dropout',
    spec: { type: 'dropout', ...nameField(name), rate },
    op: { type: 'dropout', rate },
    outputShape: (s) => right(s),
    init: () => ({ params: {}, state: {} }),
    run: (_params, state, x, ctx) => {
      const needDx = ctx.needInputGrad;
      if (ctx.mode === 'eval' || rate === 0) {
        return { y: x, state, pullback: (dy) => ({ dx: needDx ? dy : undefined, grads: {} }) };
      }
      if (ctx.key === undefined) throw new FoldnetError('value', `${name || 'dropout'}: train mode needs ctx.key for the dropout mask`);
      const u = uniform(ctx.key, x.shape, { dtype: 'float64' });
      const keep = 1 / (1 - rate);
      // scaleMask[i] = 1/(1-rate) where kept, 0 where dropped
      const scaleMask = alloc(x.dtype, x.size);
      const out = alloc(x.dtype, x.size);
      for (let i = 0; i < x.size; i++) {
        scaleMask[i] = u.data[i] >= rate ? keep : 0;
        out[i] = x.data[i] * scaleMask[i];
      }
      return {
        y: fromData(x.shape, out),
        state,
        pullback: (dy) => {
          if (!needDx) return { dx: undefined, grads: {} };
          const dx = alloc(dy.dtype, dy.size);
          for (let i = 0; i < dy.size; i++) dx[i] = dy.data[i] * scaleMask[i];
          return { dx: fromData(dy.shape, dx), grads: {} };
        },
      };
    },
  }));
};
