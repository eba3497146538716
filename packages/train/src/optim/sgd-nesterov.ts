import { alloc, fromData } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, unitOpen, type Rule } from './rule.js';

/** The hyper-parameters of SGD with Nesterov momentum in PyTorch's form. @example const h: SgdNesterovHyper = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, decayAll: 0 }; */
export type SgdNesterovHyper = { readonly lr: number; readonly momentum: number; readonly weightDecay: number } & DecayHyper;

/** Its state: the momentum buffer `buf` of every param (PyTorch's `momentum_buffer`). @example sgdNesterov().init(params).buf['conv1.W'] // zeros */
export interface SgdNesterovState {
  readonly buf: Slot;
}

// buf = momentum * buf + g; p -= lr * (g + momentum * buf), each element in double precision
const sgdNesterovRule: Rule<'sgd-nesterov', 'momentum', 'buf', never> = {
  name: 'sgd-nesterov',
  lr: 0.01,
  hyper: { momentum: { default: 0.9, range: unitOpen } },
  slots: ['buf'],
  scalars: {},
  step: ({ p, g, slots, hyper: { lr, momentum: mu } }) => {
    const [P, G, B] = [p.data, g.data, slots.buf.data];
    const np = alloc(p.dtype, p.size);
    const nb = alloc(p.dtype, p.size);
    for (let i = 0; i < np.length; i++) {
      const gi = G[i];
      const bi = mu * B[i] + gi;
      nb[i] = bi;
      np[i] = P[i] - lr * (gi + mu * bi);
    }
    return { p: fromData(p.shape, np), slots: { buf: fromData(p.shape, nb) } };
  },
};
const lifted = liftRule(sgdNesterovRule);

/**
 * SGD with Nesterov momentum in PyTorch's form (`torch.optim.SGD(momentum=μ, nesterov=True)`, dampening 0;
 * Sutskever et al. 2013): `buf = μ buf + g; p -= lr (g + μ buf)`, the gradient with L2 weight decay added
 * first, as PyTorch adds it. Defaults: lr 0.01, momentum 0.9, no decay.
 *
 * It differs from the book's `nesterov` (`v = μ v - lr g; p += μ² v - (1 + μ) lr g`): its buffer holds
 * gradients, not steps, so the learning rate of a schedule applies to the whole step at once (the book's
 * velocity keeps the steps taken at earlier rates); and even at a constant rate, where the book's v is
 * -lr buf, the steps differ from the first on: with buf the buffer before the step, `p` moves by
 * -lr (μ² buf + (1 + μ) g) here and by -lr (μ³ buf + (1 + μ + μ²) g) in the book's form. Use this one to
 * reproduce PyTorch recipes.
 *
 * @example
 * const opt = sgdNesterov({ lr: 0.1, momentum: 0.9 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w;
 * // buf = 2; p = 1 - 0.1 * (2 + 0.9 * 2) = 0.62
 */
export const sgdNesterov = (hyper: Partial<SgdNesterovHyper> = {}): Optimizer<SgdNesterovState, 'sgd-nesterov'> => lifted(hyper);
