import { kernels, type AdamItem, type AdamResult } from '@foldnet/core';
import type { DecayHyper, Optimizer, Slot } from './optimizer.js';
import { liftRule, nonNegativeInteger, unitOpen, type ArrayResult, type ArrayStep, type Rule } from './rule.js';

/** Adam's hyper-parameters. `weightDecay` adds `weightDecay * p` to the gradient of each weight, a param of 2+ dimensions (L2; of every param with `decayAll` 1; not AdamW). @example const h: AdamHyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0, decayAll: 0 }; */
export type AdamHyper = { readonly lr: number; readonly beta1: number; readonly beta2: number; readonly weightDecay: number } & DecayHyper;

/** Adam's state: the step `count` (the book's `iter`), first moments `m` and second moments `v`. @example adam().init(params).count // 0 */
export interface AdamState {
  readonly count: number;
  readonly m: Slot;
  readonly v: Slot;
}

// Every param's whole array goes to the kernel set's fused adamUpdates at once, weight decay included: the fast set
// updates them all in one job across the threads, and keeps a large float32 param's p, m, v resident in wasm memory
// between steps, which holds only while the rule hands over the very tensors it was given and takes back the ones the
// kernel made.
const lrTOf = (lr: number, beta1: number, beta2: number, count: number): number => (lr * Math.sqrt(1.0 - beta2 ** count)) / (1.0 - beta1 ** count);
type AdamArrayStep = ArrayStep<'beta1' | 'beta2', 'm' | 'v', 'count'>;
const itemOf = ({ p, g, slots, hyper: { lr, beta1, beta2 }, scalars: { count }, wd }: AdamArrayStep): AdamItem => ({
  p,
  g,
  m: slots.m,
  v: slots.v,
  step: { lrT: lrTOf(lr, beta1, beta2, count), c1: 1 - beta1, c2: 1 - beta2, wd },
});
const resultOf = (r: AdamResult): ArrayResult<'m' | 'v'> => ({ p: r.p, slots: { m: r.m, v: r.v }, finite: r.finite });
const adamRule: Rule<'adam', 'beta1' | 'beta2', 'm' | 'v', 'count'> = {
  name: 'adam',
  lr: 0.001,
  hyper: { beta1: { default: 0.9, range: unitOpen }, beta2: { default: 0.999, range: unitOpen } },
  slots: ['m', 'v'],
  scalars: { count: { init: 0, next: (count) => count + 1, range: nonNegativeInteger } },
  fusesDecay: true,
  step: (a) => {
    const { p, g, m, v, step } = itemOf(a);
    return resultOf(kernels().adamUpdate(p, g, m, v, step));
  },
  stepAll: (steps) => kernels().adamUpdates(steps.map(itemOf)).map(resultOf),
};
const lifted = liftRule(adamRule);

/**
 * Adam in the book's form (`Adam`, arxiv.org/abs/1412.6980v8), bias correction folded into the
 * step size:
 *   t += 1; lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m += (1 - beta1)(g - m); v += (1 - beta2)(g^2 - v); p -= lr_t * m / (sqrt(v) + 1e-7)
 * Defaults: lr 0.001, beta1 0.9, beta2 0.999, no decay. Each tensor is updated in one fused pass by the
 * current kernel set's `adamUpdates`, all of them in one call (read p, g, m, v once, write fresh p, m, v; the fast set
 * runs the large float32 tensors in wasm as one job across the threads, bit-identical to the reference loop).
 *
 * @example
 * const opt = adam();
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w;
 * // t=1: lr_t = 0.001*sqrt(0.001)/0.1, m = 0.2, v = 0.004: p = 1 - lr_t*0.2/(sqrt(0.004)+1e-7) ≈ 0.999
 */
export const adam = (hyper: Partial<AdamHyper> = {}): Optimizer<AdamState> => lifted(hyper);
