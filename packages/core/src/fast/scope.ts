import { FoldnetError } from '../errors.js';
import { closeScope, isMemoryView, openScope, scopeOpen } from './layout.js';

/*
 * A result scope keeps the fast kernels' results in the WebAssembly memory while a function runs (layout.ts, "the scope's
 * area"): a training step's activations and gradients are written there, read there by the next kernel, and never
 * copied out into JavaScript buffers, so the step allocates next to nothing for the garbage collector. What the
 * function returns is copied out when it returns; everything else it made is gone.
 */

let poisonOnClose = false;

/**
 * With `on`, every scope fills the memory its results used with NaN when it closes, so that a tensor kept past its
 * scope (a bug: only what the function returns lives on) reads NaN instead of values that happen to be still there.
 * For tests (from '@foldnet/core/testing'); the repository's tests run with it on (vitest's setup file).
 *
 * @example poisonScopes(true)
 */
export const poisonScopes = (on: boolean): void => {
  poisonOnClose = on;
};

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * `value` with every typed array that is a view of the kernels' memory replaced by a copy of its own: in plain objects
 * and arrays, at any depth (a tensor is a plain object, so it is rebuilt around its copied data, frozen as it was).
 * Objects and arrays with nothing to copy are returned as they are; anything else (functions, Maps, class instances)
 * is not looked into.
 */
const settle = <T>(value: T, seen = new Map<object, unknown>()): T => {
  if (value === null || typeof value !== 'object') return value;
  const v: object = value;
  if (seen.has(v)) return seen.get(v) as T;
  if (ArrayBuffer.isView(v)) {
    // a buffer of its own is a leaf, the same whenever it is met again: only a view's copy is remembered
    if (!isMemoryView(v as Float32Array)) return value;
    const copy = (v as Float32Array).slice();
    seen.set(v, copy);
    return copy as T;
  }
  if (!Array.isArray(v) && !isPlainObject(v)) return value;
  // a step's state is a few hundred tensors of which usually none holds a view: nothing is allocated for an object
  // until one of its entries is replaced, then it is rebuilt with the entries before that one as they were. An object
  // is remembered (met again, inside itself or elsewhere, it is not walked again) from its first entry that is an
  // object on: leaves (a tensor's shape) never are, only what could be walked without end or many times over
  const record = v as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined;
  let remembered = false;
  for (let i = 0; i < keys.length; i++) {
    const entry = record[keys[i]];
    if (!remembered && entry !== null && typeof entry === 'object') {
      seen.set(v, v);
      remembered = true;
    }
    const settled = settle(entry, seen);
    if (out === undefined && settled !== entry) {
      out = Array.isArray(v) ? [] : Object.create(Object.getPrototypeOf(v));
      for (let j = 0; j < i; j++) (out as Record<string, unknown>)[keys[j]] = record[keys[j]];
    }
    if (out !== undefined) out[keys[i]] = settled;
  }
  if (out === undefined) return value;
  if (Object.isFrozen(v)) Object.freeze(out);
  seen.set(v, out);
  return out as T;
};

/**
 * Runs `f` with the fast kernels' results kept in their memory, and returns what `f` returns with its tensors copied
 * out. Inside, a kernel's result is a view of the memory it was written to (no copy out into a JavaScript buffer, and
 * the next kernel reads it where it is); when `f` returns, all of that memory is free again at once, without the
 * garbage collector. Nothing needs it for correctness: it is how `trainStep`, `evaluate` and `predict` run each step
 * or batch, and a loop of your own over `forward` and `pullback` may use it the same way. The one rule: a tensor made
 * inside lives on only through what `f` returns (plain objects and arrays are searched, at any depth); kept any other
 * way (a closure, a variable outside), its values are overwritten by the next scope (and read NaN in tests, see
 * poisonScopes). `f` must be synchronous. Inside
 * a scope, `resultScope` just calls `f`. With the reference kernels it changes nothing.
 *
 * @example
 * const { loss, grads } = resultScope(() => lossAndGrad(net, params, state, x, labels)); // grads copied out
 */
export const resultScope = <T>(f: () => T): T => {
  if (scopeOpen()) return f();
  openScope();
  try {
    const out = f();
    if (out instanceof Promise) throw new FoldnetError('value', 'resultScope: the function returned a Promise; resultScope runs synchronous functions only');
    return settle(out); // copied out before the scope closes (finally)
  } finally {
    closeScope(poisonOnClose);
  }
};
