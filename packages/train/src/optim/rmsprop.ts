import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, unitOpen, type Rule } from './rule.js';

/** RMSprop's hyper-parameters. `weightDecay` adds `weightDecay * p` to the gradient of each weight, a param of 2+ dimensions (L2; of every param with `decayAll` 1). @example const h: RMSpropHyper = { lr: 0.01, decayRate: 0.99, weightDecay: 0, decayAll: 0 }; */
export type RMSpropHyper = { readonly lr: number; readonly decayRate: number; readonly weightDecay: number } & DecayHyper;

/** RMSprop's state: the moving average `h` of squared gradients of every param. @example rmsprop().init(params).h['conv1.W'] // zeros */
export interface RMSpropState {
  readonly h: Slot;
}

// h *= decay_rate; h += (1 - decay_rate)*g*g; p -= lr*g / (sqrt(h) + 1e-7) (reading h back as stored)
const rmspropRule: Rule<'rmsprop', 'decayRate', 'h', never> = {
  name: 'rmsprop',
  lr: 0.01,
  hyper: { decayRate: { default: 0.99, range: unitOpen } },
  slots: ['h'],
  scalars: {},
  step: ({ p, g, slots, hyper: { lr, decayRate: rho } }) => {
    const oneMinusRho = 1 - rho;
    const [P, G, H] = [p.data, g.data, slots.h.data];
    const np = alloc(p.dtype, p.size);
    const nh = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) {
      const gi = G[i];
      nh[i] = H[i] * rho + oneMinusRho * gi * gi;
      np[i] = P[i] - (lr * gi) / (Math.sqrt(nh[i]) + 1e-7);
    }
    return { p: fromData(p.shape, np), slots: { h: fromData(p.shape, nh) } };
  },
};
const lifted = liftRule(rmspropRule);

/**
 * RMSprop, the book's `RMSprop`:
 *   h *= decay_rate; h += (1 - decay_rate)*g*g; p -= lr*g / (sqrt(h) + 1e-7).
 * Defaults: lr 0.01, decayRate 0.99, no decay.
 *
 * @example
 * const opt = rmsprop({ lr: 0.01, decayRate: 0.99 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.9] (h = 0.04)
 */
export const rmsprop = (hyper: Partial<RMSpropHyper> = {}): Optimizer<RMSpropState> => lifted(hyper);
