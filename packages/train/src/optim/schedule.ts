import { FoldnetError } from '@foldnet/core';

/*
 * A learning-rate schedule is a pure function of the step: the factor the optimizer's base
 * learning rate is multiplied by on the step about to be taken (0-based, the train state's
 * `step`). Because it depends on the step alone, a resumed run follows the same curve.
 * `trainStep(network, optimizer, { lrSchedule })` applies it through `optimizer.withLr`, so the
 * scaled rate enters each update rule exactly where the base rate would.
 */

/** The factor (> 0) the base learning rate is multiplied by at a 0-based step. */
export type LrSchedule = (step: number) => number;

/** The base rate at every step. @example constantLr(123) // 1 */
export const constantLr: LrSchedule = () => 1;

const checkSteps = (op: string, steps: number): void => {
  if (!Number.isInteger(steps) || steps < 1) throw new FoldnetError('config', `${op}: steps must be a positive integer, got ${String(steps)}`);
};

/**
 * Half a cosine from 1 at step 0 down towards `final` at step `steps` (SGDR, arxiv.org/abs/1608.03983,
 * without restarts): `final + (1 - final) (1 + cos(pi t / steps)) / 2`. Steps past the end keep the
 * factor of the last step, `steps - 1`, which stays above zero even with `final` 0.
 *
 * @example
 * const s = cosineDecay(100);
 * s(0); // 1
 * s(50); // 0.5
 * s(99); // 0.000247 (and so for every later step)
 */
export const cosineDecay = (steps: number, final = 0): LrSchedule => {
  checkSteps('cosineDecay', steps);
  if (!(final >= 0 && final <= 1)) throw new FoldnetError('config', `cosineDecay: final must be in [0, 1], got ${String(final)}`);
  return (step) => final + ((1 - final) * (1 + Math.cos((Math.PI * Math.min(step, steps - 1)) / steps))) / 2;
};

/**
 * Piecewise constant: the factor is multiplied by `factor` at each of the `boundaries` (steps,
 * increasing), as in the book's and most papers' "divide the rate by 10 at epochs 30 and 60".
 *
 * @example
 * const s = stepDecay([3000, 4500]);
 * s(2999); // 1
 * s(3000); // 0.1
 * s(4500); // 0.01 (up to rounding)
 */
export const stepDecay = (boundaries: readonly number[], factor = 0.1): LrSchedule => {
  boundaries.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 1) throw new FoldnetError('config', `stepDecay: boundary ${i} must be a positive integer step, got ${String(b)}`);
    if (i > 0 && b <= boundaries[i - 1]) {
      throw new FoldnetError('config', `stepDecay: boundaries must increase, got ${boundaries[i - 1]} then ${b}`);
    }
  });
  if (!(factor > 0 && factor <= 1)) throw new FoldnetError('config', `stepDecay: factor must be in (0, 1], got ${String(factor)}`);
  const at = [...boundaries];
  return (step) => factor ** at.filter((b) => step >= b).length;
};

/**
 * A linear warm-up over the first `steps` steps, then `after`: the factor is (step + 1) / steps at steps
 * 0 .. steps-1, so the first step already moves and the last warm-up step reaches the full rate, and from
 * step `steps` on it is `after(step - steps)`: the schedule after the warm-up counts its own steps from 0
 * (`linearWarmup(500, cosineDecay(iters - 500))` is warm-up then cosine over the rest of the run). A pure
 * function of the step, so a resumed run follows the same curve.
 *
 * @example
 * const s = linearWarmup(4, cosineDecay(10));
 * s(0); // 0.25
 * s(3); // 1
 * s(4); // 1 (cosine's step 0)
 * s(9); // 0.5 (cosine's step 5)
 */
export const linearWarmup = (steps: number, after: LrSchedule = constantLr): LrSchedule => {
  checkSteps('linearWarmup', steps);
  return (step) => (step < steps ? (step + 1) / steps : after(step - steps));
};
