import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { allFinite, FoldnetError, formatShape, fromData, sameShape, zeros, type Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import type { NonFiniteUpdate, Optimizer, SavedOptimizerState, Slot } from './optimizer.js';

/*
 * An optimizer states its rule for ONE array: the hyper-parameters it reads, the per-array state slots
 * it keeps (`m`, `v`), the scalars it keeps (Adam's `count`) and one step of one param. `liftRule` turns
 * such a rule into an `Optimizer` once for all of them (JAX's `@optimizer`, optax): the walk over named
 * params, the checks and their messages, L2 weight decay, reading and checking hyper-parameters, zero slots
 * at init, scalar state, and checkpoint names `<slot>.<param>`. A rule never sees a param's name, so it
 * cannot get the walk wrong.
 *
 * Weight decay reaches the weights only unless `decayAll` is 1: params of two or more dimensions (the
 * `W` of convolutions and affine layers), not biases, batch norm's gamma and beta or other vectors and
 * scalars, the book's choice (its nets decay `W1`, `W2`, ... alone) and the usual one in modern recipes.
 */

/** A value's admissible range: a predicate and its description for errors. @example positive.ok(0) // false: 'a positive number' */
export interface HyperRange {
  readonly ok: (v: number) => boolean;
  readonly text: string;
}

/** lr > 0. @example positive.ok(0.01) // true */
export const positive: HyperRange = { ok: (v) => v > 0, text: 'a positive number' };
/** weightDecay >= 0. @example nonNegative.ok(0) // true */
export const nonNegative: HyperRange = { ok: (v) => v >= 0, text: 'a number >= 0' };
/** Momentum and decay rates in [0, 1). @example unitOpen.ok(1) // false: 'in [0, 1)' */
export const unitOpen: HyperRange = { ok: (v) => v >= 0 && v < 1, text: 'in [0, 1)' };
/** A switch stored as a number: 0 (off) or 1 (on), e.g. `decayAll`. @example zeroOrOne.ok(0.5) // false */
export const zeroOrOne: HyperRange = { ok: (v) => v === 0 || v === 1, text: '0 or 1' };
/** Step counters such as Adam's `count`. @example nonNegativeInteger.ok(1.5) // false */
export const nonNegativeInteger: HyperRange = { ok: (v) => Number.isInteger(v) && v >= 0, text: 'a non-negative integer' };

/** A rule's own hyper-parameter: its default and its range. @example const beta1: HyperSpec = { default: 0.9, range: unitOpen }; */
export interface HyperSpec {
  readonly default: number;
  readonly range: HyperRange;
}

/**
 * A scalar of the state (Adam's step `count`): its value at init, its next value (taken once per update,
 * before any array is stepped), and the range a checkpoint's value must be in.
 *
 * @example const count: ScalarSpec = { init: 0, next: (t) => t + 1, range: nonNegativeInteger };
 */
export interface ScalarSpec {
  readonly init: number;
  readonly next: (value: number) => number;
  readonly range: HyperRange;
}

/**
 * What a rule's step sees of one param: the param `p`, its gradient `g`, its slots, the hyper-parameters
 * (`lr` and the rule's own) and the scalars as this update made them (Adam's `count` already advanced).
 * `g` has weight decay added (`g + weightDecay * p`, each element in double precision, so a float32 param's
 * `g` is then a float64 tensor) and `wd` is 0, unless the rule fuses the decay into its own pass: then `g`
 * is the gradient as given and `wd` the weight decay to apply (0 for a param `decays` leaves alone). `slots`
 * and `g` are shaped like `p`.
 *
 * @example
 * const step = ({ p, g, hyper: { lr } }: ArrayStep<never, never, never>) => p.data[0] - lr * g.data[0];
 */
export interface ArrayStep<H extends string, K extends string, C extends string> {
  readonly p: Tensor;
  readonly g: Tensor;
  readonly slots: Readonly<Record<K, Tensor>>;
  readonly hyper: Readonly<Record<'lr' | H, number>>;
  readonly scalars: Readonly<Record<C, number>>;
  readonly wd: number;
}

/**
 * A rule's step result: the new param and its new slots, fresh tensors shaped and typed like `p`; `finite` when the
 * rule knows whether all of them are finite (a kernel that checked what it stored). Absent, the lifter checks them.
 *
 * @example const r: ArrayResult<'v'> = { p, slots: { v } };
 */
export interface ArrayResult<K extends string> {
  readonly p: Tensor;
  readonly slots: Readonly<Record<K, Tensor>>;
  readonly finite?: boolean;
}

/**
 * An update rule for one array, named `N`, with own hyper-parameters `H` (besides `lr` and `weightDecay`,
 * which every rule has), per-array slots `K` and scalars `C`.
 *
 * @example
 * // sign SGD: p -= lr * sign(g)
 * const signSgd: Rule<'signSgd', never, never, never> = {
 *   name: 'signSgd', lr: 0.01, hyper: {}, slots: [], scalars: {},
 *   step: ({ p, g, hyper: { lr } }) => {
 *     const out = alloc(p.dtype, p.size);
 *     for (let i = 0; i < out.length; i++) out[i] = p.data[i] - lr * Math.sign(g.data[i]);
 *     return { p: fromData(p.shape, out), slots: {} };
 *   },
 * };
 */
export interface Rule<N extends string, H extends string, K extends string, C extends string> {
  /** Names the optimizer and its errors (`adam.update: ...`). */
  readonly name: N;
  /** The default learning rate. */
  readonly lr: number;
  /** Own hyper-parameters in the order `hyper` and errors list them (between `lr` and `weightDecay`). */
  readonly hyper: Readonly<Record<H, HyperSpec>>;
  /** Per-array state, zeros shaped like each param at init; saved as `<slot>.<param>`. */
  readonly slots: readonly K[];
  readonly scalars: Readonly<Record<C, ScalarSpec>>;
  /**
   * The rule adds `wd * p` to the gradient inside its own pass. Adam's kernel does, in double precision: a
   * decayed gradient handed to it would be rounded to the param's dtype on the way into wasm. Otherwise the
   * lifter adds it before the step.
   */
  readonly fusesDecay?: boolean;
  readonly step: (a: ArrayStep<H, K, C>) => ArrayResult<K>;
  /**
   * The step of every param of an update at once, the results in the steps' order, each what `step` gives it: for a
   * rule whose kernel updates many arrays in one pass (Adam: the fast set's one job over all params across the
   * threads). Absent, the lifter calls `step` param by param.
   */
  readonly stepAll?: (steps: readonly ArrayStep<H, K, C>[]) => readonly ArrayResult<K>[];
}

/**
 * Whether weight decay applies to a param: always with `decayAll`, else only to the weights, params of two or
 * more dimensions (conv [F, C, FH, FW], affine [in, out]); vectors and scalars (biases, batch norm's gamma and
 * beta) are left undecayed.
 *
 * @example decays(tensor([1, 2]), false) // false: a bias
 */
export const decays = (p: Tensor, decayAll: boolean): boolean => decayAll || p.shape.length >= 2;

/** A lifted rule's state: one `Slot` record per slot name and one number per scalar (`{ count, m, v }`). @example const s: RuleState<'m' | 'v', 'count'> = adam().init(params); */
export type RuleState<K extends string, C extends string> = Readonly<Record<K, Slot>> & Readonly<Record<C, number>>;

// ----- records typed by their keys -----

// Object.keys gives strings; every own key of a Record<K, ...> is a K.
const keysOf = <K extends string>(o: Readonly<Record<K, unknown>>): K[] => Object.keys(o).filter((k): k is K => Object.hasOwn(o, k));

const filled = <K extends string, V>(o: Partial<Record<K, V>>, keys: readonly K[]): o is Record<K, V> => keys.every((k) => k in o);

/** `{ [k]: f(k) }` for each key, or the first Left in key order. */
const traverseKeys = <K extends string, V>(keys: readonly K[], f: (k: K) => Either<FoldnetError, V>): Either<FoldnetError, Readonly<Record<K, V>>> => {
  const out: Partial<Record<K, V>> = {};
  for (const k of keys) {
    const r = f(k);
    if (isLeft(r)) return r;
    out[k] = r.right;
  }
  // every key was just written, which TypeScript cannot follow through the loop
  return filled(out, keys) ? right(out) : left(new FoldnetError('value', `traverseKeys: a key of ${keys.join(', ')} was not filled`));
};

/** `{ [k]: f(k) }` for each key. */
const recordOf = <K extends string, V>(keys: readonly K[], f: (k: K) => V): Readonly<Record<K, V>> => {
  const out: Partial<Record<K, V>> = {};
  for (const k of keys) out[k] = f(k);
  if (!filled(out, keys)) throw new FoldnetError('value', `recordOf: a key of ${keys.join(', ')} was not filled`);
  return out;
};

// ----- the walk's checks, with the messages callers and tests rely on -----

/** Throws when `grads` names a tensor that is not a param (a sign of mismatched networks). */
const checkNoExtra = (op: string, grads: Params, params: Params): void => {
  for (const name of Object.keys(grads)) {
    if (!(name in params)) throw new FoldnetError('value', `${op}: gradient ${name} has no matching param`);
  }
};

/**
 * The tensor `name` of a record that must match param `p` in shape and dtype; `what` says which
 * record it is in the error (`adam.update: gradient conv1.W has shape [3], expected [30,1,5,5]`).
 */
const matching = (op: string, what: string, record: Params, name: string, p: Tensor): Tensor => {
  const t = record[name];
  if (t === undefined) throw new FoldnetError('value', `${op}: no ${what} for param ${name}`);
  if (!sameShape(t.shape, p.shape)) {
    throw new FoldnetError('shape', `${op}: ${what} ${name} has shape ${formatShape(t.shape)}, expected ${formatShape(p.shape)}`);
  }
  if (t.dtype !== p.dtype) throw new FoldnetError('dtype', `${op}: ${what} ${name} is ${t.dtype}, param is ${p.dtype}`);
  return t;
};

/**
 * The caller's hyper-parameters over the defaults, checked: every name known, every value a
 * finite number in its range (`adam: beta1 must be in [0, 1), got 1.5`).
 */
const readHyper = (
  op: string,
  defaults: Readonly<Record<string, number>>,
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

/** Reads slot `slot` back for every param, naming the first missing or mismatched tensor. */
const readSlot = (op: string, saved: SavedOptimizerState, slot: string, params: Params): Either<FoldnetError, Slot> => {
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

/**
 * Where one param's step result is not finite: undefined when all of it is, else `{ param, slot }` with slot
 * undefined for the new param itself. A rule's own `finite` flag spares the pass when it says all is finite.
 */
const nonFiniteIn = <K extends string>(param: string, r: ArrayResult<K>, slots: readonly K[]): NonFiniteUpdate | undefined => {
  if (r.finite === true) return undefined;
  if (!allFinite(r.p)) return { param, slot: undefined };
  const slot = slots.find((k) => !allFinite(r.slots[k]));
  return slot === undefined ? undefined : { param, slot };
};

/** Zeros shaped and typed like every param: the book's `np.zeros_like(val)`. */
const zerosLike = (params: Params): Slot => {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of Object.entries(params)) out[name] = zeros(p.shape, p.dtype);
  return Object.freeze(out);
};

/**
 * `g + wd * p`, each element in double precision and kept so (a Float64Array holds the sum unrounded): the
 * very value the book's rules compute inline before using g, so a rule reading it gives the same bits.
 */
const decayed = (g: Tensor, p: Tensor, wd: number): Tensor => {
  if (wd === 0) return g;
  const [G, P] = [g.data, p.data];
  const out = new Float64Array(g.size);
  for (let i = 0; i < out.length; i++) out[i] = G[i] + wd * P[i];
  return fromData(p.shape, out);
};

// ----- the lifter -----

/** Hyper-parameters as a caller gives them: any subset, unknown names refused when read. */
export type GivenHyper = Readonly<Partial<Record<string, number>>>;

/**
 * The optimizer a rule stands for, as a function of hyper-parameters: every one defaults to the rule's,
 * `lr` must be > 0, `weightDecay` (default 0) >= 0 and adds `weightDecay * p` to the gradient of every weight
 * (L2; biases and other 1-D params too when `decayAll` is 1, see `decays`). The optimizer walks the params in their record's order, checks that `grads` and the state hold
 * exactly the params' names, shapes and dtypes (naming the first that does not), steps each param with the
 * rule, names the first param whose new value or slots are not finite (`nonFinite`; from the rule's own `finite`
 * flag when it gives one, else a pass over them) and saves slots as `<slot>.<param>` tensors and scalars by name.
 *
 * @example
 * const signSgd = liftRule(signSgdRule); // the rule of `Rule`'s example
 * const opt = signSgd({ lr: 0.1, weightDecay: 0.01, decayAll: 1 });
 * opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) }).params.w; // [0.9]
 */
export const liftRule = <N extends string, H extends string, K extends string, C extends string>(
  rule: Rule<N, H, K, C>,
): ((given?: GivenHyper) => Optimizer<RuleState<K, C>, N>) => {
  const { name, slots } = rule;
  const ownNames = keysOf(rule.hyper);
  const scalarNames = keysOf(rule.scalars);
  // Checkpoints name slots `<slot>.<param>` and put scalars next to hyper-parameters: names must not collide.
  const taken = new Set<string>(['lr', 'weightDecay', 'decayAll']);
  for (const n of [...ownNames, ...slots, ...scalarNames]) {
    if (n === '' || n.includes('.')) throw new FoldnetError('config', `liftRule: ${name}: name ${JSON.stringify(n)} must be non-empty and hold no dot`);
    if (taken.has(n)) throw new FoldnetError('config', `liftRule: ${name}: ${n} is named twice among lr, weightDecay, decayAll, hyper-parameters, slots and scalars`);
    taken.add(n);
  }
  const defaults = { lr: rule.lr, ...recordOf(ownNames, (k) => rule.hyper[k].default), weightDecay: 0, decayAll: 0 };
  const ranges = { lr: positive, ...recordOf(ownNames, (k) => rule.hyper[k].range), weightDecay: nonNegative, decayAll: zeroOrOne };
  const fused = rule.fusesDecay === true;
  const update = `${name}.update`;
  // what an error calls each slot's record, made once rather than for every param of every update
  const stateLabels = recordOf(slots, (k) => `state ${k}`);
  const restore = `${name}.stateFromTensors`;

  const make = (given: GivenHyper = {}): Optimizer<RuleState<K, C>, N> => {
    const all = readHyper(name, defaults, given, ranges);
    const hyper = recordOf<'lr' | H, number>(['lr', ...ownNames], (k) => all[k]);
    const decayAll = all.decayAll === 1;
    const opt: Optimizer<RuleState<K, C>, N> = {
      name,
      hyper: Object.freeze(all),
      slots,
      withLr: (lr) => make({ ...all, lr }),
      init: (params) => Object.freeze({ ...recordOf(slots, () => zerosLike(params)), ...recordOf(scalarNames, (c) => rule.scalars[c].init) }),
      update: (grads, state, params) => {
        checkNoExtra(update, grads, params);
        const scalars = recordOf(scalarNames, (c) => rule.scalars[c].next(state[c]));
        const names = Object.keys(params);
        const steps = names.map((pname): ArrayStep<H, K, C> => {
          const p = params[pname];
          const g = matching(update, 'gradient', grads, pname, p);
          const slotsIn = recordOf(slots, (k) => matching(update, stateLabels[k], state[k], pname, p));
          const wd = decays(p, decayAll) ? all.weightDecay : 0;
          return { p, g: fused ? g : decayed(g, p, wd), slots: slotsIn, hyper, scalars, wd: fused ? wd : 0 };
        });
        const results = rule.stepAll !== undefined ? rule.stepAll(steps) : steps.map(rule.step);
        const outP: Record<string, Tensor> = {};
        const outSlots = recordOf(slots, (): Record<string, Tensor> => ({}));
        let nonFinite: NonFiniteUpdate | undefined;
        names.forEach((pname, i) => {
          const r = results[i];
          outP[pname] = r.p;
          nonFinite ??= nonFiniteIn(pname, r, slots);
          for (const k of slots) {
            const out: Record<string, Tensor> = outSlots[k];
            out[pname] = r.slots[k];
          }
        });
        const next = { ...recordOf(slots, (k): Slot => Object.freeze(outSlots[k])), ...scalars };
        return { params: Object.freeze(outP), state: Object.freeze(next), nonFinite };
      },
      stateToTensors: (state) => {
        const tensors: Record<string, Tensor> = {};
        for (const k of slots) for (const [pname, t] of Object.entries(state[k])) tensors[`${k}.${pname}`] = t;
        return { tensors, scalars: recordOf(scalarNames, (c) => state[c]) };
      },
      stateFromTensors: (saved, params) => {
        const scalars = traverseKeys(scalarNames, (c): Either<FoldnetError, number> => {
          const v = saved.scalars[c];
          const range = rule.scalars[c].range;
          return typeof v === 'number' && range.ok(v) ? right(v) : left(new FoldnetError('format', `${restore}: scalar ${c} must be ${range.text}, got ${String(v)}`));
        });
        if (isLeft(scalars)) return scalars;
        const read = traverseKeys(slots, (k) => readSlot(restore, saved, k, params));
        if (isLeft(read)) return read;
        return right(Object.freeze({ ...read.right, ...scalars.right }));
      },
    };
    return Object.freeze(opt);
  };
  return make;
};
