import { map } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import {
  checkNoExtra, freshLike, matching, nonNegative, positive, readHyper, readSlot, slotTensors, unitOpen, wrapLike, zerosLike,
  type Optimizer, type Slot,
} from './optimizer.js';

/** Momentum's hyper-parameters. `weightDecay` adds `weightDecay * p` to every gradient (L2, biases included). */
export type MomentumHyper = { readonly lr: number; readonly momentum: number; readonly weightDecay: number };

/** Momentum's state: the velocity `v` of every param. */
export interface MomentumState {
  readonly v: Slot;
}

/**
 * SGD with momentum, the book's `Momentum`: `v = momentum*v - lr*g; p += v`.
 * Defaults: lr 0.01, momentum 0.9, no decay.
 *
 * @example
 * const opt = momentum({ lr: 0.1, momentum: 0.9 });
 * const s0 = opt.init({ w: tensor([1]) });
 * opt.update({ w: tensor([2]) }, s0, { w: tensor([1]) }).params.w; // [0.8], v = [-0.2]
 */
export const momentum = (hyper: Partial<MomentumHyper> = {}): Optimizer<MomentumState> => {
  const h = readHyper('momentum', { lr: 0.01, momentum: 0.9, weightDecay: 0 }, hyper, {
    lr: positive, momentum: unitOpen, weightDecay: nonNegative,
  });
  const lr = h.lr;
  const mu = h.momentum;
  const wd = h.weightDecay;
  const opt: Optimizer<MomentumState> = {
    name: 'momentum' as const,
    hyper: Object.freeze({ lr, momentum: mu, weightDecay: wd }),
    withLr: (newLr: number) => momentum({ ...h, lr: newLr }),
    init: (params: Params): MomentumState => Object.freeze({ v: zerosLike(params) }),
    update: (grads: Params, state: MomentumState, params: Params) => {
      const op = 'momentum.update';
      checkNoExtra(op, grads, params);
      const outP: Record<string, Tensor> = {};
      const outV: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(params)) {
        const g = matching(op, 'gradient', grads, name, p).data;
        const v = matching(op, 'state v', state.v, name, p).data;
        const pd = p.data;
        const np = freshLike(p);
        const nv = freshLike(p);
        for (let i = 0; i < np.length; i++) {
          const gi = wd === 0 ? g[i] : g[i] + wd * pd[i];
          nv[i] = mu * v[i] - lr * gi;
          np[i] = pd[i] + nv[i];
        }
        outP[name] = wrapLike(p, np);
        outV[name] = wrapLike(p, nv);
      }
      return { params: Object.freeze(outP), state: Object.freeze({ v: Object.freeze(outV) }) };
    },
    stateToTensors: (state: MomentumState) => ({ tensors: slotTensors({ v: state.v }), scalars: {} }),
    stateFromTensors: (saved, params) =>
      pipe(readSlot('momentum.stateFromTensors', saved, 'v', params), map((v): MomentumState => Object.freeze({ v }))),
  };
  return Object.freeze(opt);
};

