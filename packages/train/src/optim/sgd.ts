import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer } from './optimizer.js';
import { liftRule, type Rule } from './rule.js';

/** SGD's hyper-parameters. `weightDecay` adds `weightDecay * p` to the gradient of each weight, a param of 2+ dimensions (L2; of every param with `decayAll` 1). @example const h: SgdHyper = { lr: 0.1, weightDecay: 0, decayAll: 0 }; */
export type SgdHyper = { readonly lr: number; readonly weightDecay: number } & DecayHyper;

/** SGD keeps no state. @example const s: SgdState = sgd().init(params); // {} */
export type SgdState = Readonly<Record<never, never>>;

// p -= lr * g
const sgdRule: Rule<'sgd', never, never, never> = {
  name: 'sgd',
  lr: 0.01,
  hyper: {},
  slots: [],
  scalars: {},
  step: ({ p, g, hyper: { lr } }) => {
    const [P, G] = [p.data, g.data];
    const np = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) np[i] = P[i] - lr * G[i];
    return { p: fromData(p.shape, np), slots: {} };
  },
};
const lifted = liftRule(sgdRule);

/**
 * Plain stochastic gradient descent, the book's `SGD`: `p -= lr * g`. Defaults: lr 0.01, no decay.
 *
 * @example
 * const opt = sgd({ lr: 0.1 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.8]
 */
export const sgd = (hyper: Partial<SgdHyper> = {}): Optimizer<SgdState> => lifted(hyper);
