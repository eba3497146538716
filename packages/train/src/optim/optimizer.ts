import type { Either } from 'fp-ts/lib/Either.js';
import type { FoldnetError, Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';

/*
 * An optimizer is a value (optax style): `init(params) -> state` and
 * `update(grads, state, params) -> { params, state }`, both pure. The state is a named record
 * (`AdamState { count, m, v }`) whose tensors are keyed like the params (`conv1.W`).
 *
 * Every update rule is the one of the book's common/optimizer.py, with numpy's order of operations
 * inside each element, so that float64 params reproduce the book's numbers bit for bit; float32
 * params compute each element in double precision and round once, when it is stored. Each optimizer
 * only states its rule for one array (rule.ts lifts it over the named params).
 */

/**
 * The six optimizers of the book, then the two of modern recipes in PyTorch's form: AdamW and SGD with Nesterov
 * momentum. @example const n: OptimizerName = 'adamw';
 */
export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adagrad' | 'rmsprop' | 'adam' | 'adamw' | 'sgd-nesterov';

/**
 * The weight-decay switch every optimizer has besides `weightDecay`: `decayAll` 1 decays every param, 0 (the
 * default) the weights alone (params of 2+ dimensions; biases and batch norm's gamma and beta are left alone).
 *
 * @example const h: DecayHyper = { decayAll: 1 };
 */
export type DecayHyper = { readonly decayAll: number };

/** Hyper-parameters as a plain record of numbers (what a checkpoint's metadata stores). @example const h: Hyper = { lr: 0.01, weightDecay: 0 }; */
export type Hyper = Readonly<Record<string, number>>;

/**
 * An optimizer's state as named tensors and scalars, the form checkpoints store.
 *
 * @example
 * adam().stateToTensors(state); // { tensors: { 'm.conv1.W': ..., 'v.conv1.W': ... }, scalars: { count: 3 } }
 */
export interface SavedOptimizerState {
  /** State tensors named `<slot>.<param>`: `m.conv1.W`, `v.conv1.W`, `h.affine1.b`. */
  readonly tensors: Readonly<Record<string, Tensor>>;
  /** Scalar state, e.g. Adam's step `count`. */
  readonly scalars: Readonly<Record<string, number>>;
}

/**
 * An optimizer over state `S`. `N` is its name: one of the book's six unless the optimizer was lifted
 * from a rule of one's own (see `liftRule`).
 *
 * @example
 * const opt = adam({ lr: 0.001 });
 * let s = opt.init(params);
 * ({ params, state: s } = opt.update(grads, s, params));
 */
export interface Optimizer<S, N extends string = OptimizerName> {
  readonly name: N;
  /** Every hyper-parameter with its value, defaults filled in: `{ lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0 }`. */
  readonly hyper: Hyper;
  /** The per-param state slots, each a tensor shaped like every param (Adam: `['m', 'v']`; SGD: none): what memory estimates count. */
  readonly slots: readonly string[];
  /**
   * The same optimizer with learning rate `lr` (other hyper-parameters kept). Its state is
   * interchangeable with this one's, which is what a learning-rate schedule needs.
   */
  withLr(lr: number): Optimizer<S, N>;
  /** The state before the first step (zeros shaped like each param). */
  init(params: Params): S;
  /**
   * One step. `grads` must hold exactly the names and shapes of `params`; nothing given is written. `nonFinite` names
   * the first param (in the params' order) whose new value or new state holds NaN or ±Infinity, undefined when every
   * one is finite: a training step refuses such an update rather than keep it.
   */
  update(grads: Params, state: S, params: Params): OptimizerUpdate<S>;
  /** The state as named tensors and scalars (`m.conv1.W`, `count`), for checkpoints. */
  stateToTensors(state: S): SavedOptimizerState;
  /**
   * The state back from its saved form, checked against `params` (every slot tensor present,
   * with the param's shape and dtype). Left names the missing or mismatched tensor.
   */
  stateFromTensors(saved: SavedOptimizerState, params: Params): Either<FoldnetError, S>;
}

/**
 * What one optimizer step gives: the new params and state, and the first of them that is not finite.
 *
 * @example
 * const u = adam({ lr: 1e39 }).update(grads, s, params);
 * u.nonFinite; // { param: 'conv1.W', slot: undefined }: the new conv1.W overflowed float32
 */
export interface OptimizerUpdate<S> {
  readonly params: Params;
  readonly state: S;
  readonly nonFinite: NonFiniteUpdate | undefined;
}

/**
 * Where an update first went non-finite: a param, and `slot` undefined when the new param itself did, else the
 * state slot (`m`, `v`, `h`) of that param that did.
 *
 * @example const where: NonFiniteUpdate = { param: 'affine1.W', slot: 'v' }; // Adam's v of affine1.W
 */
export interface NonFiniteUpdate {
  readonly param: string;
  readonly slot: string | undefined;
}

/**
 * An optimizer whose state type is not known statically (one built from a name by
 * `optimizerFromName`). Methods are declared with method syntax, so every `Optimizer<S>` is an
 * `AnyOptimizer`; the state it takes is always the one its own `init` or `update` gave.
 *
 * @example
 * const opts: AnyOptimizer[] = [sgd(), adam()];
 */
export type AnyOptimizer = Optimizer<unknown>;

/** Per-param slot tensors of an optimizer state (`m`, `v`, `h`), keyed like the params. @example adam().init(params).m['conv1.W'] */
export type Slot = Readonly<Record<string, Tensor>>;
