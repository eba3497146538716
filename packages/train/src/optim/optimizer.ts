import type { Either } from 'fp-ts/lib/Either.js';
import { left, right } from 'fp-ts/lib/Either.js';
import { alloc, FoldnetError, formatShape, fromData, sameShape, zeros, type MutableData, type Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';

/*
 * An optimizer is a value (optax style): `init(params) -> state` and
 * `update(grads, state, params) -> { params, state }`, both pure. The state is a named record
 * (`AdamState { count, m, v }`) whose tensors are keyed like the params (`conv1.W`).
 *
 * Every update rule is the one of the book's common/optimizer.py, with numpy's order of operations
 * inside each element, so that float64 params reproduce the book's numbers bit for bit; float32
 * params compute each element in double precision and round once, when it is stored.
 */

/** The six optimizers of the book. */
export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adagrad' | 'rmsprop' | 'adam';

/** Hyper-parameters as a plain record of numbers (what a checkpoint's metadata stores). */
export type Hyper = Readonly<Record<string, number>>;

/** An optimizer's state as named tensors and scalars, the form checkpoints store. */
export interface SavedOptimizerState {
  /** State tensors named `<slot>.<param>`: `m.conv1.W`, `v.conv1.W`, `h.affine1.b`. */
  readonly tensors: Readonly<Record<string, Tensor>>;
  /** Scalar state, e.g. Adam's step `count`. */
  readonly scalars: Readonly<Record<string, number>>;
}

/**
 * An optimizer over state `S`.
 *
 * @example
 * const opt = adam({ lr: 0.001 });
 * let s = opt.init(params);
 * ({ params, state: s } = opt.update(grads, s, params));
 */
export interface Optimizer<S> {
  readonly name: OptimizerName;
  /** Every hyper-parameter with its value, defaults filled in: `{ lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0 }`. */
  readonly hyper: Hyper;
  /**
   * The same optimizer with learning rate `lr` (other hyper-parameters kept). Its state is
   * interchangeable with this one's, which is what a learning-rate schedule needs.
   */
  withLr(lr: number): Optimizer<S>;
  /** The state before the first step (zeros shaped like each param). */
  init(params: Params): S;
  /** One step. `grads` must hold exactly the names and shapes of `params`; nothing given is written. */
  update(grads: Params, state: S, params: Params): { readonly params: Params; readonly state: S };
  /** The state as named tensors and scalars (`m.conv1.W`, `count`), for checkpoints. */
  stateToTensors(state: S): SavedOptimizerState;
  /**
   * The state back from its saved form, checked against `params` (every slot tensor present,
   * with the param's shape and dtype). Left names the missing or mismatched tensor.
   */
  stateFromTensors(saved: SavedOptimizerState, params: Params): Either<FoldnetError, S>;
}

/**
 * An optimizer whose state type is not known statically (one built from a name by
 * `optimizerFromName`). Methods are declared with method syntax, so every `Optimizer<S>` is an
 * `AnyOptimizer`; the state it takes is always the one its own `init` or `update` gave.
 */
export type AnyOptimizer = Optimizer<unknown>;

/** Per-param slot tensors of an optimizer state (`m`, `v`, `h`), keyed like the params. */
export type Slot = Readonly<Record<string, Tensor>>;

// ----- helpers shared by the six rules -----

/** Zeros shaped and typed like every param: the book's `np.zeros_like(val)`. */
export const zerosLike = (params: Params): Slot => {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of Object.entries(params)) out[name] = zeros(p.shape, p.dtype);
  return Object.freeze(out);
};

/**
 * The tensor `name` of a record that must match param `p` in shape and dtype; `what` says which
 * record it is in the error (`adam.update: gradient conv1.W has shape [3], expected [30,1,5,5]`).
 */
export const matching = (op: string, what: string, record: Params, name: string, p: Tensor): Tensor => {
  const t = record[name];
  if (t === undefined) throw new FoldnetError('value', `${op}: no ${what} for param ${name}`);
  if (!sameShape(t.shape, p.shape)) {
    throw new FoldnetError('shape', `${op}: ${what} ${name} has shape ${formatShape(t.shape)}, expected ${formatShape(p.shape)}`);
  }
  if (t.dtype !== p.dtype) throw new FoldnetError('dtype', `${op}: ${what} ${name} is ${t.dtype}, param is ${p.dtype}`);
  return t;
};

/** Throws when `grads` names a tensor that is not a param (a sign of mismatched networks). */
export const checkNoExtra = (op: string, grads: Params, params: Params): void => {
  for (const name of Object.keys(grads)) {
    if (!(name in params)) throw new FoldnetError('value', `${op}: gradient ${name} has no matching param`);
  }
};

/** A fresh buffer shaped like `p`, to be filled once and frozen into a tensor. */
export const freshLike = (p: Tensor): MutableData => alloc(p.dtype, p.size);

/** Wraps a freshly filled buffer as a tensor shaped like `p`. */
export const wrapLike = (p: Tensor, data: MutableData): Tensor => fromData(p.shape, data);

/** A hyper-parameter's admissible range: a predicate and its description for errors. */
export interface HyperRange {
  readonly ok: (v: number) => boolean;
  readonly text: string;
}

/** lr > 0. @example readHyper('sgd', { lr: 0.01 }, { lr: 0 }, { lr: positive }) // throws: sgd: lr must be a positive number, got 0 */
export const positive: HyperRange = { ok: (v) => v > 0, text: 'a positive number' };
/** weightDecay >= 0. @example readHyper('sgd', { weightDecay: 0 }, {}, { weightDecay: nonNegative }) */
export const nonNegative: HyperRange = { ok: (v) => v >= 0, text: 'a number >= 0' };
/** Momentum and decay rates in [0, 1). @example readHyper('adam', { beta1: 0.9 }, { beta1: 1.5 }, { beta1: unitOpen }) // throws */
export const unitOpen: HyperRange = { ok: (v) => v >= 0 && v < 1, text: 'in [0, 1)' };

/**
 * The caller's hyper-parameters over the defaults, checked: every name known, every value a
 * finite number in its range (`adam: beta1 must be in [0, 1), got 1.5`).
 */
export const readHyper = (
  op: string,
  defaults: Hyper,
  given: Readonly<Partial<Record<string, number>>>,
  ranges: Readonly<Record<string, HyperRange>>,
): Record<string, number> => {
  const out: Record<string, number> = { ...defaults };
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!(k in defaults)) {
      throw new FoldnetError('config', `${op}: unknown hyper-parameter ${k} (known: ${Object.keys(defaults).join(', ')})`);
    }
    out[k] = v;
  }
  for (const k of Object.keys(defaults)) {
    const v = out[k];
    const range = ranges[k] ?? nonNegative;
    if (typeof v !== 'number' || !Number.isFinite(v) || !range.ok(v)) {
      throw new FoldnetError('config', `${op}: ${k} must be ${range.text}, got ${String(v)}`);
    }
  }
  return out;
};

/** Slot tensors renamed `<slot>.<param>` for checkpoints. */
export const slotTensors = (slots: Readonly<Record<string, Slot>>): Record<string, Tensor> => {
  const out: Record<string, Tensor> = {};
  for (const [slot, record] of Object.entries(slots)) {
    for (const [name, t] of Object.entries(record)) out[`${slot}.${name}`] = t;
  }
  return out;
};

/** Reads slot `slot` back for every param, naming the first missing or mismatched tensor. */
export const readSlot = (op: string, saved: SavedOptimizerState, slot: string, params: Params): Either<FoldnetError, Slot> => {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of Object.entries(params)) {
    const key = `${slot}.${name}`;
    const t = saved.tensors[key];
    if (t === undefined) return left(new FoldnetError('format', `${op}: optimizer state tensor ${key} is missing`));
    if (!sameShape(t.shape, p.shape)) {
      return left(new FoldnetError('format', `${op}: optimizer state tensor ${key} has shape ${formatShape(t.shape)}, param ${name} has ${formatShape(p.shape)}`));
    }
    if (t.dtype !== p.dtype) {
      return left(new FoldnetError('format', `${op}: optimizer state tensor ${key} is ${t.dtype}, param ${name} is ${p.dtype}`));
    }
    out[name] = t;
  }
  return right(Object.freeze(out));
};
