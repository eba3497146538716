import type { Tensor } from '@foldnet/core';

/*
 * Describing NaN and ±Infinity where they were found: what the training step says when it refuses an update or an
 * initial state, and what the checkpoint writer and reader say when they refuse a tensor. Both only run once a fault
 * is known (a step's fast check is the optimizer kernel's flag, or core's allFinite), so one plain pass is enough.
 */

/** How many elements of a tensor are NaN or ±Infinity, and the first of them. */
export interface NonFiniteCount {
  readonly count: number;
  readonly index: number;
  readonly value: number;
}

/**
 * How many elements of `t` are NaN or ±Infinity, and the first of them; undefined when all are
 * finite. One pass over the data: a checkpoint's ~430k params cost well under a millisecond.
 *
 * @example
 * nonFiniteCount(fromData([3], Float32Array.of(1, NaN, Infinity))); // { count: 2, index: 1, value: NaN }
 */
export const nonFiniteCount = (t: Tensor): NonFiniteCount | undefined => {
  const d = t.data;
  let count = 0;
  let index = -1;
  for (let i = 0; i < d.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity: one test covers both.
    if (d[i] - d[i] !== 0) {
      if (count === 0) index = i;
      count++;
    }
  }
  return count === 0 ? undefined : { count, index, value: d[index] };
};

/**
 * `<what> <name> holds N non-finite values (the first, at index i, is NaN)`, or undefined when `t` is all finite.
 *
 * @example
 * describeNonFinite('parameter', 'conv1.W', w); // 'parameter conv1.W holds 748 non-finite values (the first, at index 0, is Infinity)'
 */
export const describeNonFinite = (what: string, name: string, t: Tensor): string | undefined => {
  const bad = nonFiniteCount(t);
  return bad === undefined ? undefined : `${what} ${name} holds ${bad.count} non-finite value${bad.count === 1 ? '' : 's'} (the first, at index ${bad.index}, is ${bad.value})`;
};

/**
 * The first tensor of `groups` (in order, each a description and named tensors) holding a non-finite value,
 * described; undefined when none.
 *
 * @example
 * firstNonFinite([['parameter', state.params], ['layer state', state.layerState]]); // undefined when all finite
 */
export const firstNonFinite = (groups: readonly (readonly [string, Readonly<Record<string, Tensor>>])[]): string | undefined => {
  for (const [what, tensors] of groups) {
    for (const [name, t] of Object.entries(tensors)) {
      const described = describeNonFinite(what, name, t);
      if (described !== undefined) return described;
    }
  }
  return undefined;
};
