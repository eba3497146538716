/**
 * Optimizers as values: `init(params) -> state`, `update(grads, state, params) -> { params, state }`,
 * the six update rules of the book (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam) and AdamW and SGD with
 * Nesterov momentum in PyTorch's forms. Each states its rule for one array; rule.ts lifts them all over named
 * params the same way. Learning-rate schedules and clipping by global norm go with them.
 *
 * @example
 * import { adam } from '@foldnet/train';
 * const opt = adam({ lr: 0.001 });
 * let state = opt.init(params);
 * ({ params, state } = opt.update(grads, state, params));
 */
export type { OptimizerName, Hyper, DecayHyper, SavedOptimizerState, Optimizer, AnyOptimizer, Slot, OptimizerUpdate, NonFiniteUpdate } from './optimizer.js';
export { sgd, type SgdHyper, type SgdState } from './sgd.js';
export { momentum, type MomentumHyper, type MomentumState } from './momentum.js';
export { nesterov, type NesterovHyper, type NesterovState } from './nesterov.js';
export { adagrad, type AdaGradHyper, type AdaGradState } from './adagrad.js';
export { rmsprop, type RMSpropHyper, type RMSpropState } from './rmsprop.js';
export { adam, type AdamHyper, type AdamState } from './adam.js';
export { adamw, type AdamWHyper, type AdamWState } from './adamw.js';
export { sgdNesterov, type SgdNesterovHyper, type SgdNesterovState } from './sgd-nesterov.js';
export { optimizerFromName, optimizerNames } from './registry.js';
export { constantLr, cosineDecay, stepDecay, linearWarmup, type LrSchedule } from './schedule.js';
export { parseLrSchedule, lrScheduleOver, lrScheduleSyntax, type LrScheduleSpec } from './schedule-text.js';
export { globalNorm, clipByGlobalNorm } from './clip.js';
