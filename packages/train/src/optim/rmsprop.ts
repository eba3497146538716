import { map } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import {
  checkNoExtra, freshLike, matching, nonNegative, positive, readHyper, readSlot, slotTensors, unitOpen, wrapLike, zerosLike,
  type Optimizer, type Slot,
} from './optimizer.js';

/** RMSprop's hyper-parameters. `weightDecay` adds `weightDecay * p` to every gradient (L2, biases included). */
export type RMSpropHyper = { readonly lr: number; readonly decayRate: number; readonly weightDecay: number };

/** RMSprop's state: the moving average `h` of squared gradients of every param. */
export interface RMSpropState {
  readonly h: Slot;
}

/**
 * RMSprop, the book's `RMSprop`:
 *   h *= decay_rate; h += (1 - decay_rate)*g*g; p -= lr*g / (sqrt(h) + 1e-7).
 * Defaults: lr 0.01, decayRate 0.99, no decay.
 *
 * @example
 * const opt = rmsprop({ lr: 0.01, decayRate: 0.99 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.9] (h = 0.04)
 */
export const rmsprop = (hyper: Partial<RMSpropHyper> = {}): Optimizer<RMSpropState> => {
  const h = readHyper('rmsprop', { lr: 0.01, decayRate: 0.99, weightDecay: 0 }, hyper, {
    lr: positive, decayRate: unitOpen, weightDecay: nonNegative,
  });
  const lr = h.lr;
  const rho = h.decayRate;
  const wd = h.weightDecay;
  const oneMinusRho = 1 - rho;
  const opt: Optimizer<RMSpropState> = {
    name: 'rmsprop' as const,
    hyper: Object.freeze({ lr, decayRate: rho, weightDecay: wd }),
    withLr: (newLr: number) => rmsprop({ ...h, lr: newLr }),
    init: (params: Params): RMSpropState => Object.freeze({ h: zerosLike(params) }),
    update: (grads: Params, state: RMSpropState, params: Params) => {
      const op = 'rmsprop.update';
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
          nh[i] = hs[i] * rho + oneMinusRho * gi * gi;
          np[i] = pd[i] - (lr * gi) / (Math.sqrt(nh[i]) + 1e-7);
        }
        outP[name] = wrapLike(p, np);
        outH[name] = wrapLike(p, nh);
      }
      return { params: Object.freeze(outP), state: Object.freeze({ h: Object.freeze(outH) }) };
    },
    stateToTensors: (state: RMSpropState) => ({ tensors: slotTensors({ h: state.h }), scalars: {} }),
    stateFromTensors: (saved, params) =>
      pipe(readSlot('rmsprop.stateFromTensors', saved, 'h', params), map((h): RMSpropState => Object.freeze({ h }))),
  };
  return Object.freeze(opt);
};
