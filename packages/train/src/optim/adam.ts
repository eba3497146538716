import { chain, left, map } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { FoldnetError, kernels, type Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import {
  checkNoExtra, matching, nonNegative, positive, readHyper, readSlot, slotTensors, unitOpen, zerosLike,
  type Optimizer, type Slot,
} from './optimizer.js';

/** Adam's hyper-parameters. `weightDecay` adds `weightDecay * p` to every gradient (L2, biases included; not AdamW). */
export type AdamHyper = { readonly lr: number; readonly beta1: number; readonly beta2: number; readonly weightDecay: number };

/** Adam's state: the step `count` (the book's `iter`), first moments `m` and second moments `v`. */
export interface AdamState {
  readonly count: number;
  readonly m: Slot;
  readonly v: Slot;
}

/**
 * Adam in the book's form (`Adam`, arxiv.org/abs/1412.6980v8), bias correction folded into the
 * step size:
 *   t += 1; lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m += (1 - beta1)(g - m); v += (1 - beta2)(g^2 - v); p -= lr_t * m / (sqrt(v) + 1e-7)
 * Defaults: lr 0.001, beta1 0.9, beta2 0.999, no decay. Each tensor is updated in one fused pass by the
 * current kernel set's `adamUpdate` (read p, g, m, v once, write fresh p, m, v; the fast set runs large
 * float32 tensors in wasm across the threads, bit-identical to the reference loop).
 *
 * @example
 * const opt = adam();
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w;
 * // t=1: lr_t = 0.001*sqrt(0.001)/0.1, m = 0.2, v = 0.004: p = 1 - lr_t*0.2/(sqrt(0.004)+1e-7) ≈ 0.999
 */
export const adam = (hyper: Partial<AdamHyper> = {}): Optimizer<AdamState> => {
  const h = readHyper('adam', { lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0 }, hyper, {
    lr: positive, beta1: unitOpen, beta2: unitOpen, weightDecay: nonNegative,
  });
  const lr = h.lr;
  const b1 = h.beta1;
  const b2 = h.beta2;
  const wd = h.weightDecay;
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  const opt: Optimizer<AdamState> = {
    name: 'adam' as const,
    hyper: Object.freeze({ lr, beta1: b1, beta2: b2, weightDecay: wd }),
    withLr: (newLr: number) => adam({ ...h, lr: newLr }),
    init: (params: Params): AdamState => Object.freeze({ count: 0, m: zerosLike(params), v: zerosLike(params) }),
    update: (grads: Params, state: AdamState, params: Params) => {
      const op = 'adam.update';
      checkNoExtra(op, grads, params);
      const count = state.count + 1;
      const lrT = (lr * Math.sqrt(1.0 - b2 ** count)) / (1.0 - b1 ** count);
      const outP: Record<string, Tensor> = {};
      const outM: Record<string, Tensor> = {};
      const outV: Record<string, Tensor> = {};
      const k = kernels();
      for (const [name, p] of Object.entries(params)) {
        const r = k.adamUpdate(p, matching(op, 'gradient', grads, name, p), matching(op, 'state m', state.m, name, p), matching(op, 'state v', state.v, name, p), {
          lrT, c1, c2, wd,
        });
        outP[name] = r.p;
        outM[name] = r.m;
        outV[name] = r.v;
      }
      return {
        params: Object.freeze(outP),
        state: Object.freeze({ count, m: Object.freeze(outM), v: Object.freeze(outV) }),
      };
    },
    stateToTensors: (state: AdamState) => ({ tensors: slotTensors({ m: state.m, v: state.v }), scalars: { count: state.count } }),
    stateFromTensors: (saved, params) => {
      const op = 'adam.stateFromTensors';
      const count = saved.scalars.count;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
        return left(new FoldnetError('format', `${op}: scalar count must be a non-negative integer, got ${String(count)}`));
      }
      return pipe(
        readSlot(op, saved, 'm', params),
        chain((m) => pipe(readSlot(op, saved, 'v', params), map((v): AdamState => Object.freeze({ count, m, v })))),
      );
    },
  };
  return Object.freeze(opt);
};

