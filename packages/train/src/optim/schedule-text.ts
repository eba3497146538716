import { left, map, right, type Either } from 'fp-ts/lib/Either.js';
import { constantLr, cosineDecay, linearWarmup, stepDecay, type LrSchedule } from './schedule.js';

/*
 * A learning-rate schedule written as text, as `foldnet train --lr-schedule`, config files and trainInWorker's
 * `lrSchedule` take it: one parser, so the CLI and a Worker give the same rate at every step.
 */

/**
 * What the text may say: `constant`, `cosine` (half a cosine from the base rate towards 0 over the run's steps) or
 * `step:<s1>,<s2>,...` (the rate divided by 10 at each listed step), each optionally after a linear warm-up:
 * `warmup:<n>` alone, or `warmup:<n>,cosine`, `warmup:<n>,step:<s1>,...`.
 *
 * @example
 * `--lr-schedule: expected ${lrScheduleSyntax}, got "linear"`
 */
export const lrScheduleSyntax = 'constant, cosine, or step:<step>,<step>,... (increasing steps), optionally after warmup:<steps> (warmup:500,cosine)';

/** A parsed schedule: its kind (and a step schedule's boundaries), and the warm-up steps before it when it has one. */
export type LrScheduleSpec = ({ readonly kind: 'constant' | 'cosine' } | { readonly kind: 'step'; readonly at: readonly number[] }) & { readonly warmup?: number };

const wholeSteps = (text: string): number => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN);

/**
 * The schedule `text` names, or a message saying what is wrong with it. After `warmup:<n>,` the schedule counts
 * its steps from the warm-up's end (cosine decays over the rest of the run; step boundaries are steps after it).
 *
 * @example
 * parseLrSchedule('step:300,450');      // right({ kind: 'step', at: [300, 450] })
 * parseLrSchedule('warmup:500,cosine'); // right({ kind: 'cosine', warmup: 500 })
 */
export const parseLrSchedule = (text: string): Either<string, LrScheduleSpec> => {
  const warm = /^warmup:([^,]*)(?:,(.*))?$/s.exec(text);
  if (warm !== null) {
    const steps = wholeSteps(warm[1]);
    if (!(Number.isSafeInteger(steps) && steps >= 1)) return left(`warm-up: ${JSON.stringify(warm[1])} is not a positive number of steps (e.g. warmup:500,cosine)`);
    if (warm[2] !== undefined && warm[2].startsWith('warmup:')) return left(`warm-up: give one warmup:<steps>, got ${JSON.stringify(text)}`);
    return map((after: LrScheduleSpec): LrScheduleSpec => ({ ...after, warmup: steps }))(parseLrSchedule(warm[2] ?? 'constant'));
  }
  if (text === 'constant' || text === 'cosine') return right({ kind: text });
  const m = /^step:(.+)$/.exec(text);
  if (m === null) return left(`expected ${lrScheduleSyntax}, got ${JSON.stringify(text)}`);
  const parts = m[1].split(',');
  const at = parts.map(wholeSteps);
  const bad = at.findIndex((b, i) => !(Number.isSafeInteger(b) && b >= 1) || (i > 0 && b <= at[i - 1]));
  if (bad >= 0) return left(`step schedule: ${JSON.stringify(parts[bad])} is not a step after the previous one (expected increasing positive integers, e.g. step:3000,4500)`);
  return right({ kind: 'step', at });
};

/**
 * The schedule `text` names over a run of `iters` steps, or what is wrong with it. After a warm-up, cosine decays over
 * the steps left and step boundaries count from the warm-up's end; a warm-up as long as the run is refused.
 *
 * @example
 * lrScheduleOver('warmup:5,cosine', 100); // right(linearWarmup(5, cosineDecay(95)))
 * lrScheduleOver('linear', 100);          // left('expected constant, cosine, ... got "linear"')
 */
export const lrScheduleOver = (text: string, iters: number): Either<string, LrSchedule> => {
  const parsed = parseLrSchedule(text);
  if (parsed._tag === 'Left') return parsed;
  const s = parsed.right;
  const warmup = s.warmup ?? 0;
  if (warmup >= iters) return left(`the warm-up of ${warmup} steps must be shorter than the run's ${iters} steps`);
  const after = s.kind === 'step' ? stepDecay(s.at) : s.kind === 'cosine' ? cosineDecay(iters - warmup) : constantLr;
  return right(warmup === 0 ? after : linearWarmup(warmup, after));
};
