import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError } from '@foldnet/core';
import { adagrad } from './adagrad.js';
import { adam } from './adam.js';
import { adamw } from './adamw.js';
import { momentum } from './momentum.js';
import { nesterov } from './nesterov.js';
import type { AnyOptimizer, Hyper, OptimizerName } from './optimizer.js';
import { rmsprop } from './rmsprop.js';
import { sgd } from './sgd.js';
import { sgdNesterov } from './sgd-nesterov.js';

const builders: Readonly<Record<OptimizerName, (hyper: Hyper) => AnyOptimizer>> = {
  sgd: (h) => sgd(h),
  momentum: (h) => momentum(h),
  nesterov: (h) => nesterov(h),
  adagrad: (h) => adagrad(h),
  rmsprop: (h) => rmsprop(h),
  adam: (h) => adam(h),
  adamw: (h) => adamw(h),
  'sgd-nesterov': (h) => sgdNesterov(h),
};

/** The optimizer names `optimizerFromName` knows: the book's six in its order, then AdamW and SGD-Nesterov (PyTorch's forms). */
export const optimizerNames: readonly OptimizerName[] = Object.freeze(['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw', 'sgd-nesterov']);

const isOptimizerName = (name: string): name is OptimizerName => (optimizerNames as readonly string[]).includes(name);

/**
 * An optimizer from its name and hyper-parameters (configs, checkpoint metadata). Names are
 * case-insensitive. Left is a `config` error naming the unknown optimizer or hyper-parameter, or
 * the value out of range.
 *
 * @example
 * optimizerFromName('adam', { lr: 0.001 });       // right(adam)
 * optimizerFromName('adamax', {});                // left: optimizerFromName: unknown optimizer adamax (known: sgd, ...)
 * optimizerFromName('sgd', { momentum: 0.9 });    // left: sgd: unknown hyper-parameter momentum (known: lr, weightDecay)
 */
export const optimizerFromName = (name: string, hyper: Hyper = {}): Either<FoldnetError, AnyOptimizer> => {
  const key = name.toLowerCase();
  if (!isOptimizerName(key)) {
    return left(new FoldnetError('config', `optimizerFromName: unknown optimizer ${name} (known: ${optimizerNames.join(', ')})`));
  }
  try {
    return right(builders[key](hyper));
  } catch (e) {
    if (e instanceof FoldnetError) return left(e);
    throw e;
  }
};
