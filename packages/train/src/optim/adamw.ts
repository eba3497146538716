import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, nonNegativeInteger, positive, unitOpen, type Rule } from './rule.js';

/** AdamW's hyper-parameters; `weightDecay` is decoupled: each step shrinks a weight by lr * weightDecay * p. @example const h: AdamWHyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decayAll: 0 }; */
export type AdamWHyper = { readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number } & DecayHyper;

/** AdamW's state, as Adam's: the step `count`, first moments `m` and second moments `v`. @example adamw().init(params).count // 0 */
export interface AdamWState {
  readonly count: number;
  readonly m: Slot;
  readonly v: Slot;
}

// PyTorch's torch.optim.AdamW step, element by element in double precision (rounded once, when stored):
//   p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The decay is the rule's own (fusesDecay): it multiplies p, it is never added to g.
const adamwRule: Rule<'adamw', 'beta1' | 'beta2' | 'eps', 'm' | 'v', 'count'> = {
  name: 'adamw',
  lr: 0.001,
  hyper: { beta1: { default: 0.9, range: unitOpen }, beta2: { default: 0.999, range: unitOpen }, eps: { default: 1e-8, range: positive } },
  slots: ['m', 'v'],
  scalars: { count: { init: 0, next: (count) => count + 1, range: nonNegativeInteger } },
  fusesDecay: true,
  step: ({ p, g, slots, hyper: { lr, beta1, beta2, eps }, scalars: { count }, wd }) => {
    const stepSize = lr / (1 - beta1 ** count);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** count);
    const shrink = 1 - lr * wd;
    const [P, G, M, V] = [p.data, g.data, slots.m.data, slots.v.data];
    const np = alloc(p.dtype, p.size);
    const nm = alloc(p.dtype, p.size);
    const nv = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) {
      const gi = G[i];
      const mi = beta1 * M[i] + (1 - beta1) * gi;
      const vi = beta2 * V[i] + (1 - beta2) * gi * gi;
      nm[i] = mi;
      nv[i] = vi;
      np[i] = P[i] * shrink - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
    }
    return { p: fromData(p.shape, np), slots: { m: fromData(p.shape, nm), v: fromData(p.shape, nv) } };
  },
};
const lifted = liftRule(adamwRule);

/**
 * AdamW (Loshchilov and Hutter, arxiv.org/abs/1711.05101) in PyTorch's form (`torch.optim.AdamW`): Adam with
 * bias-corrected moments and its weight decay decoupled from the gradient,
 *   t += 1; p *= 1 - lr * weightDecay; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Defaults: lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8, and weight decay 0 like every optimizer here (PyTorch's
 * default is 0.01: give it). As with the others, the decay reaches the weights alone unless `decayAll` is 1.
 *
 * @example
 * const opt = adamw({ lr: 0.1, weightDecay: 0.5 });
 * opt.update({ w: tensor([[2]]) }, opt.init({ w: tensor([[1]]) }), { w: tensor([[1]]) }).params.w;
 * // p = 1 * (1 - 0.05) - 0.1 * sign(2) (the first step moves by ~lr) = 0.85
 */
export const adamw = (hyper: Partial<AdamWHyper> = {}): Optimizer<AdamWState, 'adamw'> => lifted(hyper);
