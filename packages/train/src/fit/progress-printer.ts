import { FoldnetError } from '@foldnet/core';
import type { Observer } from './fold.js';

/*
 * Progress lines for a training run, written to a stream the caller chooses: `fit` is otherwise
 * silent for as long as it runs. The timing is a pure reducer (tickProgress) over the steps and a
 * clock reading, shared by the printProgress observer and the foldnet command's plain-line output;
 * the observer is the one place in the library that writes, and only to the sink it was given.
 */

/** Anything text can be written to: `process.stdout`, `process.stderr`, a file stream, a test's array. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * "12.3 s", "4 min 05 s", "1 h 02 min": durations for an ETA.
 *
 * @example
 * formatDuration(245); // '4 min 05 s'
 */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
};

/**
 * One progress line: with a known total, the share done and the ETA; without, the step, loss and speed.
 *
 * @example
 * progressLine(100, 1000, 0.4312, 12.3, 73); // 'step 100/1000 (10%)  loss 0.4312  12.3 steps/s  ETA 1 min 13 s'
 * progressLine(100, undefined, 0.4312, 12.3, Number.NaN); // 'step 100  loss 0.4312  12.3 steps/s'
 */
export const progressLine = (step: number, total: number | undefined, loss: number, stepsPerSecond: number, etaSeconds: number): string =>
  total === undefined
    ? `step ${step}  loss ${loss.toFixed(4)}  ${stepsPerSecond.toFixed(1)} steps/s`
    : `step ${step}/${total} (${Math.floor((100 * step) / Math.max(total, 1))}%)  loss ${loss.toFixed(4)}  ${stepsPerSecond.toFixed(1)} steps/s  ETA ${formatDuration(etaSeconds)}`;

/** When progress started and when its last line was written (times in milliseconds). */
export interface ProgressClock {
  readonly startedAt: number;
  /** The step training started after (non-zero when resuming). */
  readonly startStep: number;
  readonly lastLineAt: number;
  readonly lastLineStep: number;
}

/** How often lines come. */
export interface ProgressPace {
  /** The run's last step, when known: a line at each further tenth of the run and at that step. */
  readonly total?: number;
  /** Milliseconds between lines at most (a line as soon as this much time has passed). */
  readonly intervalMs: number;
}

/**
 * A clock started at `t` (ms), training starting after `startStep`.
 *
 * @example startProgressClock(Date.now(), 0);
 */
export const startProgressClock = (t: number, startStep: number): ProgressClock => Object.freeze({ startedAt: t, startStep, lastLineAt: t, lastLineStep: startStep });

/**
 * The progress after `step` (its batch loss `loss`, the clock reading `t` in ms): the line due now,
 * if one is (another tenth of a known total done, `intervalMs` passed since the last line, or the
 * last step reached; `force` for a final line), and the clock after it.
 *
 * @example
 * const { clock, line } = tickProgress(startProgressClock(0, 0), 100, 0.43, 10_000, { total: 1000, intervalMs: 5000 });
 * line; // 'step 100/1000 (10%)  loss 0.4300  10.0 steps/s  ETA 1 min 30 s'
 */
export const tickProgress = (
  clock: ProgressClock,
  step: number,
  loss: number,
  t: number,
  pace: ProgressPace,
  force = false,
): { readonly clock: ProgressClock; readonly line: string | undefined } => {
  const done = step - clock.startStep;
  const tenth = pace.total === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(pace.total / 10));
  const due = force || step === pace.total || step - clock.lastLineStep >= tenth || t - clock.lastLineAt >= pace.intervalMs;
  if (!due || done <= 0 || step === clock.lastLineStep) return { clock, line: undefined };
  const rate = (done * 1000) / Math.max(t - clock.startedAt, 1);
  const eta = pace.total === undefined ? Number.NaN : (pace.total - step) / rate;
  return { clock: Object.freeze({ ...clock, lastLineAt: t, lastLineStep: step }), line: progressLine(step, pace.total, loss, rate, eta) };
};

/** Options of `printProgress`. */
export interface PrintProgressOptions {
  /** The run's last step, when known: lines then give the share done and an ETA. */
  readonly total?: number;
  /** Seconds between lines at most (default 5). */
  readonly intervalSeconds?: number;
  /** The clock in milliseconds (default Date.now; tests pass a fake one). */
  readonly now?: () => number;
}

/**
 * Prints progress to `out` as training goes: `step 300/1000 (30%)  loss 0.2301  14.2 steps/s  ETA 49 s`,
 * one line whenever another tenth of the run is done (with `total`) or `intervalSeconds` have passed,
 * at the last step, and once at the end if the run stopped elsewhere (early stopping, a fault).
 * Speed and ETA count from the call to printProgress, so make one per run, just before it starts.
 * Its accumulator is the clock; combine it with other observers as usual.
 *
 * @example
 * const { state } = fitObserved(trainStep(net, adam()), s0, batches, printProgress(process.stdout, { total: 1000 }));
 * // step 100/1000 (10%)  loss 0.5324  21.0 steps/s  ETA 43 s
 * // ...
 */
export const printProgress = <S>(out: TextSink, opts: PrintProgressOptions = {}): Observer<S, ProgressClock | undefined> => {
  const intervalSeconds = opts.intervalSeconds ?? 5;
  if (!(intervalSeconds > 0)) throw new FoldnetError('value', `printProgress: intervalSeconds must be positive, got ${intervalSeconds}`);
  if (opts.total !== undefined && !(Number.isInteger(opts.total) && opts.total >= 0)) throw new FoldnetError('value', `printProgress: total must be an integer >= 0, got ${opts.total}`);
  if (typeof out?.write !== 'function') throw new FoldnetError('value', 'printProgress: out must be an object with a write(text) method, such as process.stdout');
  const now = opts.now ?? Date.now;
  const pace: ProgressPace = { total: opts.total, intervalMs: intervalSeconds * 1000 };
  const startedAt = now();
  const advance = (clock: ProgressClock | undefined, step: number, loss: number, force: boolean): ProgressClock => {
    // the first state observed tells which step the run started after (a resumed state's step)
    const r = tickProgress(clock ?? startProgressClock(startedAt, step - 1), step, loss, now(), pace, force);
    if (r.line !== undefined) out.write(`${r.line}\n`);
    return r.clock;
  };
  return {
    init: undefined,
    step: (clock, state) => advance(clock, state.step, state.loss, false),
    end: (clock, state) => (clock === undefined ? clock : advance(clock, state.step, state.loss, true)),
  };
};
