import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, type Rule } from './rule.js';

/** AdaGrad's hyper-parameters. `weightDecay` adds `weightDecay * p` to the gradient of each weight, a param of 2+ dimensions (L2; of every param with `decayAll` 1). @example const h: AdaGradHyper = { lr: 0.01, weightDecay: 0, decayAll: 0 }; */
export type AdaGradHyper = { readonly lr: number; readonly weightDecay: number } & DecayHyper;

/** AdaGrad's state: the running sum `h` of squared gradients of every param. @example adagrad().init(params).h['conv1.W'] // zeros */
export interface AdaGradState {
  readonly h: Slot;
}

// h += g*g; p -= lr*g / (sqrt(h) + 1e-7) (reading h back as stored, as numpy does)
const adagradRule: Rule<'adagrad', never, 'h', never> = {
  name: 'adagrad',
  lr: 0.01,
  hyper: {},
  slots: ['h'],
  scalars: {},
  step: ({ p, g, slots, hyper: { lr } }) => {
    const [P, G, H] = [p.data, g.data, slots.h.data];
    const np = alloc(p.dtype, p.size);
    const nh = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) {
      const gi = G[i];
      nh[i] = H[i] + gi * gi;
      np[i] = P[i] - (lr * gi) / (Math.sqrt(nh[i]) + 1e-7);
    }
    return { p: fromData(p.shape, np), slots: { h: fromData(p.shape, nh) } };
  },
};
const lifted = liftRule(adagradRule);

/**
 * AdaGrad, the book's `AdaGrad`: `h += g*g; p -= lr*g / (sqrt(h) + 1e-7)`.
 * Defaults: lr 0.01, no decay.
 *
 * @example
 * const opt = adagrad({ lr: 0.1 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.9] (h = 4)
 */
export const adagrad = (hyper: Partial<AdaGradHyper> = {}): Optimizer<AdaGradState> => lifted(hyper);
