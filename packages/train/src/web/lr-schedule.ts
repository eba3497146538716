import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { constantLr, cosineDecay, linearWarmup, stepDecay, type LrSchedule } from '../optim/schedule.js';

/*
 * A training job's `lrSchedule` text, read as `foldnet train --lr-schedule` reads it (the CLI's parseLrSchedule and
 * lrScheduleOf; same syntax, same curve, so a job and the CLI give the same rate at every step). Kept here because
 * the Worker cannot reach the CLI's package.
 */

/** What a job's `lrSchedule` may say, for error messages. */
export const jobLrScheduleSyntax = 'constant, cosine, or step:<step>,<step>,... (increasing steps), optionally after warmup:<steps> (warmup:500,cosine)';

type ScheduleShape = ({ readonly kind: 'constant' | 'cosine' } | { readonly kind: 'step'; readonly at: readonly number[] }) & { readonly warmup?: number };

const wholeSteps = (text: string): number => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN);

const parseShape = (text: string): Either<string, ScheduleShape> => {
  const warm = /^warmup:([^,]*)(?:,(.*))?$/s.exec(text);
  if (warm !== null) {
    const steps = wholeSteps(warm[1]);
    if (!(Number.isSafeInteger(steps) && steps >= 1)) return left(`warm-up: ${JSON.stringify(warm[1])} is not a positive number of steps (e.g. warmup:500,cosine)`);
    if (warm[2] !== undefined && warm[2].startsWith('warmup:')) return left(`warm-up: give one warmup:<steps>, got ${JSON.stringify(text)}`);
    const after = parseShape(warm[2] ?? 'constant');
    return after._tag === 'Left' ? after : right({ ...after.right, warmup: steps });
  }
  if (text === 'constant' || text === 'cosine') return right({ kind: text });
  const m = /^step:(.+)$/.exec(text);
  if (m === null) return left(`expected ${jobLrScheduleSyntax}, got ${JSON.stringify(text)}`);
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
 * jobLrSchedule('warmup:5,cosine', 100); // right(linearWarmup(5, cosineDecay(95)))
 * jobLrSchedule('linear', 100);          // left('expected constant, cosine, ... got "linear"')
 */
export const jobLrSchedule = (text: string, iters: number): Either<string, LrSchedule> => {
  const parsed = parseShape(text);
  if (parsed._tag === 'Left') return parsed;
  const s = parsed.right;
  const warmup = s.warmup ?? 0;
  if (warmup >= iters) return left(`the warm-up of ${warmup} steps must be shorter than the run's ${iters} steps`);
  const after = s.kind === 'step' ? stepDecay(s.at) : s.kind === 'cosine' ? cosineDecay(iters - warmup) : constantLr;
  return right(warmup === 0 ? after : linearWarmup(warmup, after));
};
