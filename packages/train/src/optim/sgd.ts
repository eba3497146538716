import { right } from 'fp-ts/lib/Either.js';
import type { Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import { checkNoExtra, freshLike, matching, nonNegative, positive, readHyper, wrapLike, type Optimizer } from './optimizer.js';

/** SGD's hyper-parameters. `weightDecay` adds `weightDecay * p` to every gradient (L2, biases included). */
export type SgdHyper = { readonly lr: number; readonly weightDecay: number };

/** SGD keeps no state. */
export type SgdState = Readonly<Record<never, never>>;

/**
 * Plain stochastic gradient descent, the book's `SGD`: `p -= lr * g`. Defaults: lr 0.01, no decay.
 *
 * @example
 * const opt = sgd({ lr: 0.1 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.8]
 */
export const sgd = (hyper: Partial<SgdHyper> = {}): Optimizer<SgdState> => {
  const h = readHyper('sgd', { lr: 0.01, weightDecay: 0 }, hyper, { lr: positive, weightDecay: nonNegative });
  const lr = h.lr;
  const wd = h.weightDecay;
  const empty: SgdState = Object.freeze({});
  const opt: Optimizer<SgdState> = {
    name: 'sgd' as const,
    hyper: Object.freeze({ lr, weightDecay: wd }),
    withLr: (newLr: number) => sgd({ ...h, lr: newLr }),
    init: (): SgdState => empty,
    update: (grads: Params, state: SgdState, params: Params) => {
      checkNoExtra('sgd.update', grads, params);
      const out: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(params)) {
        const g = matching('sgd.update', 'gradient', grads, name, p).data;
        const pd = p.data;
        const np = freshLike(p);
        for (let i = 0; i < np.length; i++) {
          const gi = wd === 0 ? g[i] : g[i] + wd * pd[i];
          np[i] = pd[i] - lr * gi;
        }
        out[name] = wrapLike(p, np);
      }
      return { params: Object.freeze(out), state };
    },
    stateToTensors: () => ({ tensors: {}, scalars: {} }),
    stateFromTensors: () => right(empty),
  };
  return Object.freeze(opt);
};
