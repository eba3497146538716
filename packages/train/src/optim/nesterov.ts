import { map } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import {
  checkNoExtra, freshLike, matching, nonNegative, positive, readHyper, readSlot, slotTensors, unitOpen, wrapLike, zerosLike,
  type Optimizer, type Slot,
} from './optimizer.js';

/** Nesterov's hyper-parameters. `weightDecay` adds `weightDecay * p` to every gradient (L2, biases included). */
export type NesterovHyper = { readonly lr: number; readonly momentum: number; readonly weightDecay: number };

/** Nesterov's state: the velocity `v` of every param. */
export interface NesterovState {
  readonly v: Slot;
}

/**
 * Nesterov's accelerated gradient in the book's form (`Nesterov`, after
 * arxiv.org/abs/1212.0901):
 *   v *= momentum; v -= lr*g; p += momentum*momentum*v; p -= (1+momentum)*lr*g.
 * Defaults: lr 0.01, momentum 0.9, no decay.
 *
 * @example
 * const opt = nesterov({ lr: 0.1, momentum: 0.9 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w;
 * // v = -0.2; p = 1 + 0.81*(-0.2) - 1.9*0.1*2 = 0.458
 */
export const nesterov = (hyper: Partial<NesterovHyper> = {}): Optimizer<NesterovState> => {
  const h = readHyper('nesterov', { lr: 0.01, momentum: 0.9, weightDecay: 0 }, hyper, {
    lr: positive, momentum: unitOpen, weightDecay: nonNegative,
  });
  const lr = h.lr;
  const mu = h.momentum;
  const wd = h.weightDecay;
  // numpy evaluates `momentum * momentum * v` and `(1 + momentum) * lr * g` left to right.
  const muMu = mu * mu;
  const lrG = (1 + mu) * lr;
  const opt: Optimizer<NesterovState> = {
    name: 'nesterov' as const,
    hyper: Object.freeze({ lr, momentum: mu, weightDecay: wd }),
    withLr: (newLr: number) => nesterov({ ...h, lr: newLr }),
    init: (params: Params): NesterovState => Object.freeze({ v: zerosLike(params) }),
    update: (grads: Params, state: NesterovState, params: Params) => {
      const op = 'nesterov.update';
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
          nv[i] = v[i] * mu - lr * gi;
          np[i] = pd[i] + muMu * nv[i] - lrG * gi;
        }
        outP[name] = wrapLike(p, np);
        outV[name] = wrapLike(p, nv);
      }
      return { params: Object.freeze(outP), state: Object.freeze({ v: Object.freeze(outV) }) };
    },
    stateToTensors: (state: NesterovState) => ({ tensors: slotTensors({ v: state.v }), scalars: {} }),
    stateFromTensors: (saved, params) =>
      pipe(readSlot('nesterov.stateFromTensors', saved, 'v', params), map((v): NesterovState => Object.freeze({ v }))),
  };
  return Object.freeze(opt);
};
