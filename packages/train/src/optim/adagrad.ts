import { map } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import {
  checkNoExtra, freshLike, matching, nonNegative, positive, readHyper, readSlot, slotTensors, wrapLike, zerosLike,
  type Optimizer, type Slot,
} from './optimizer.js';

/** AdaGrad's hyper-parameters. `weightDecay` adds `weightDecay * p` to every gradient (L2, biases included). */
export type AdaGradHyper = { readonly lr: number; readonly weightDecay: number };

/** AdaGrad's state: the running sum `h` of squared gradients of every param. */
export interface AdaGradState {
  readonly h: Slot;
}

/**
 * AdaGrad, the book's `AdaGrad`: `h += g*g; p -= lr*g / (sqrt(h) + 1e-7)`.
 * Defaults: lr 0.01, no decay.
 *
 * @example
 * const opt = adagrad({ lr: 0.1 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.9] (h = 4)
 */
export const adagrad = (hyper: Partial<AdaGradHyper> = {}): Optimizer<AdaGradState> => {
  const h = readHyper('adagrad', { lr: 0.01, weightDecay: 0 }, hyper, { lr: positive, weightDecay: nonNegative });
  const lr = h.lr;
  const wd = h.weightDecay;
  const opt: Optimizer<AdaGradState> = {
    name: 'adagrad' as const,
    hyper: Object.freeze({ lr, weightDecay: wd }),
    withLr: (newLr: number) => adagrad({ ...h, lr: newLr }),
    init: (params: Params): AdaGradState => Object.freeze({ h: zerosLike(params) }),
    update: (grads: Params, state: AdaGradState, params: Params) => {
      const op = 'adagrad.update';
      checkNoExtra(op, grads, params);
      const outP: Record<string, Tensor> = {};
      const outH: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(params)) {
        const g = matching(op, 'gradient', grads, name, p).data;
        const hs = matching(op, 'state h', state.h, name, p).data;
        const pd = p.data;
        const np = freshLike(p);
        const nh = freshLike(p);
        for (let i = 0; i < np.length; i++) {
          const gi = wd === 0 ? g[i] : g[i] + wd * pd[i];
          nh[i] = hs[i] + gi * gi;
          np[i] = pd[i] - (lr * gi) / (Math.sqrt(nh[i]) + 1e-7);
        }
        outP[name] = wrapLike(p, np);
        outH[name] = wrapLike(p, nh);
      }
      return { params: Object.freeze(outP), state: Object.freeze({ h: Object.freeze(outH) }) };
    },
    stateToTensors: (state: AdaGradState) => ({ tensors: slotTensors({ h: state.h }), scalars: {} }),
    stateFromTensors: (saved, params) =>
      pipe(readSlot('adagrad.stateFromTensors', saved, 'h', params), map((h): AdaGradState => Object.freeze({ h }))),
  };
  return Object.freeze(opt);
};
