import { alloc, FoldnetError, fromData, type Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';

/*
 * Gradient clipping by global norm (Pascanu et al. 2013; PyTorch's `clip_grad_norm_`): the gradients of all
 * params taken as one vector, scaled down when its length exceeds a bound, so one bad batch cannot throw the
 * weights far while the direction of the step is kept.
 */

/**
 * The 2-norm of all gradients as one vector, sqrt(sum over every element of g^2), summed in double precision.
 *
 * @example globalNorm({ a: tensor([3]), b: tensor([4]) }) // 5
 */
export const globalNorm = (grads: Params): number => {
  let sum = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.size; i++) sum += g.data[i] * g.data[i];
  return Math.sqrt(sum);
};

const scaled = (g: Tensor, factor: number): Tensor => {
  const out = alloc(g.dtype, g.size);
  for (let i = 0; i < out.length; i++) out[i] = g.data[i] * factor;
  return fromData(g.shape, out);
};

/**
 * The gradients scaled by maxNorm / (norm + 1e-6) when their global norm exceeds maxNorm (PyTorch's
 * `clip_grad_norm_(params, maxNorm)`, the 1e-6 included), else the very same record: clipping that does not
 * bite changes no bit. Fresh tensors when it bites; nothing given is written.
 *
 * @example
 * clipByGlobalNorm({ a: tensor([3]), b: tensor([4]) }, 1).a; // [0.6] (up to the 1e-6)
 * clipByGlobalNorm({ a: tensor([0.3]) }, 1).a;                // the same tensor
 */
export const clipByGlobalNorm = (grads: Params, maxNorm: number): Params => {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw new FoldnetError('config', `clipByGlobalNorm: maxNorm must be a positive number, got ${String(maxNorm)}`);
  const factor = maxNorm / (globalNorm(grads) + 1e-6);
  if (factor >= 1) return grads;
  return Object.freeze(Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, scaled(g, factor)])));
};
