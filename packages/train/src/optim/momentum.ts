import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, unitOpen, type Rule } from './rule.js';

/** Momentum's hyper-parameters. `weightDecay` adds `weightDecay * p` to the gradient of each weight, a param of 2+ dimensions (L2; of every param with `decayAll` 1). @example const h: MomentumHyper = { lr: 0.01, momentum: 0.9, weightDecay: 0, decayAll: 0 }; */
export type MomentumHyper = { readonly lr: number; readonly momentum: number; readonly weightDecay: number } & DecayHyper;

/** Momentum's state: the velocity `v` of every param. @example momentum().init(params).v['conv1.W'] // zeros */
export interface MomentumState {
  readonly v: Slot;
}

// v = momentum*v - lr*g; p += v (reading v back as stored, as numpy does)
const momentumRule: Rule<'momentum', 'momentum', 'v', never> = {
  name: 'momentum',
  lr: 0.01,
  hyper: { momentum: { default: 0.9, range: unitOpen } },
  slots: ['v'],
  scalars: {},
  step: ({ p, g, slots, hyper: { lr, momentum: mu } }) => {
    const [P, G, V] = [p.data, g.data, slots.v.data];
    const np = alloc(p.dtype, p.size);
    const nv = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) {
      nv[i] = mu * V[i] - lr * G[i];
      np[i] = P[i] + nv[i];
    }
    return { p: fromData(p.shape, np), slots: { v: fromData(p.shape, nv) } };
  },
};
const lifted = liftRule(momentumRule);

/**
 * SGD with momentum, the book's `Momentum`: `v = momentum*v - lr*g; p += v`.
 * Defaults: lr 0.01, momentum 0.9, no decay.
 *
 * @example
 * const opt = momentum({ lr: 0.1, momentum: 0.9 });
 * const s0 = opt.init({ w: tensor([1]) });
 * opt.update({ w: tensor([2]) }, s0, { w: tensor([1]) }).params.w; // [0.8], v = [-0.2]
 */
export const momentum = (hyper: Partial<MomentumHyper> = {}): Optimizer<MomentumState> => lifted(hyper);
