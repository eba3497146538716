import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, unitOpen, type Rule } from './rule.js';

/** Nesterov's hyper-parameters. `weightDecay` adds `weightDecay * p` to the gradient of each weight, a param of 2+ dimensions (L2; of every param with `decayAll` 1). @example const h: NesterovHyper = { lr: 0.01, momentum: 0.9, weightDecay: 0, decayAll: 0 }; */
export type NesterovHyper = { readonly lr: number; readonly momentum: number; readonly weightDecay: number } & DecayHyper;

/** Nesterov's state: the velocity `v` of every param. @example nesterov().init(params).v['conv1.W'] // zeros */
export interface NesterovState {
  readonly v: Slot;
}

// v *= momentum; v -= lr*g; p += momentum*momentum*v; p -= (1+momentum)*lr*g
const nesterovRule: Rule<'nesterov', 'momentum', 'v', never> = {
  name: 'nesterov',
  lr: 0.01,
  hyper: { momentum: { default: 0.9, range: unitOpen } },
  slots: ['v'],
  scalars: {},
  step: ({ p, g, slots, hyper: { lr, momentum: mu } }) => {
    // numpy evaluates `momentum * momentum * v` and `(1 + momentum) * lr * g` left to right.
    const muMu = mu * mu;
    const lrG = (1 + mu) * lr;
    const [P, G, V] = [p.data, g.data, slots.v.data];
    const np = alloc(p.dtype, p.size);
    const nv = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) {
      const gi = G[i];
      nv[i] = V[i] * mu - lr * gi;
      np[i] = P[i] + muMu * nv[i] - lrG * gi;
    }
    return { p: fromData(p.shape, np), slots: { v: fromData(p.shape, nv) } };
  },
};
const lifted = liftRule(nesterovRule);

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
export const nesterov = (hyper: Partial<NesterovHyper> = {}): Optimizer<NesterovState> => lifted(hyper);
