import { FoldnetError } from '@foldnet/core';
import type { Observer } from './fold.js';
import type { NumericFault, TrainState } from './state.js';

/*
 * Observers for the usual needs, each a reducer over the stream of training states. They only
 * compute: what is due (an evaluation, a save, a progress report) is in the accumulator, and the
 * caller prints, writes or draws it.
 */

/** One evaluation: the step it was made after, and its metrics. */
export interface EvaluationEntry<M> {
  readonly step: number;
  readonly metrics: M;
}

/** The accumulator of `periodicEvaluation`. */
export interface EvaluationLog<M> {
  /** Every evaluation so far, oldest first. */
  readonly history: readonly EvaluationEntry<M>[];
  /** The evaluation made on the last observed state, if a new one was (what a printer shows). */
  readonly latest: EvaluationEntry<M> | undefined;
}

/** Options of `periodicEvaluation`. */
export interface PeriodicEvaluationOptions<S, M> {
  /** Evaluate after every `every` steps (state.step % every === 0); 0: only at `total` and at the end. */
  readonly every: number;
  /**
   * The run's last step, when known: evaluated as soon as it is reached, whatever `every` says, so
   * whoever watches the stream sees that evaluation before the stream ends.
   */
  readonly total?: number;
  /** The metrics of a state, e.g. `(s) => evaluate(net, s.params, s.layerState, test)`. */
  readonly evaluate: (state: TrainState<S>) => M;
}

const appendEntry = <M>(log: EvaluationLog<M>, entry: EvaluationEntry<M>): EvaluationLog<M> =>
  Object.freeze({ history: Object.freeze([...log.history, entry]), latest: entry });

/**
 * Evaluates every `every` steps, at step `total` when given, and once at the end (unless the last
 * step was just evaluated): the lesson's "accuracy every 10 generations".
 *
 * @example
 * const evals = periodicEvaluation({ every: 10, evaluate: (s) => evaluate(net, s.params, s.layerState, test) });
 * fitObserved(step, s0, batches, evals).acc.history.map((e) => e.metrics.accuracy);
 */
export const periodicEvaluation = <S, M>({ every, total, evaluate }: PeriodicEvaluationOptions<S, M>): Observer<S, EvaluationLog<M>> => {
  if (!Number.isInteger(every) || every < 0) throw new FoldnetError('value', `periodicEvaluation: every must be an integer >= 0, got ${every}`);
  return {
    init: Object.freeze({ history: Object.freeze([]), latest: undefined }),
    step: (log, state) =>
      (every > 0 && state.step % every === 0) || state.step === total
        ? appendEntry(log, { step: state.step, metrics: evaluate(state) })
        : log.latest === undefined ? log : Object.freeze({ history: log.history, latest: undefined }),
    end: (log, state) => {
      const last = log.history[log.history.length - 1];
      // the last step was just evaluated: nothing new (latest cleared, so nobody prints it twice)
      return last !== undefined && last.step === state.step
        ? Object.freeze({ history: log.history, latest: undefined })
        : appendEntry(log, { step: state.step, metrics: evaluate(state) });
    },
  };
};

/** Options of `earlyStopping`. */
export interface EarlyStoppingOptions<M> {
  /** The monitored number, e.g. `(m) => m.loss`. */
  readonly metric: (metrics: M) => number;
  /** 'min' (the default): lower is better, as for a loss; 'max' for accuracy. */
  readonly mode?: 'min' | 'max';
  /** Stop after this many evaluations in a row without improvement. */
  readonly patience: number;
  /** An improvement must beat the best by more than this (default 0). */
  readonly minDelta?: number;
}

/** The accumulator of `earlyStopping`. */
export interface EarlyStoppingAcc<S, M> {
  readonly evaluations: EvaluationLog<M>;
  /** The best evaluation so far and the state it was made on (to restore the best params). */
  readonly best: { readonly step: number; readonly value: number; readonly state: TrainState<S> } | undefined;
  /** Evaluations since the best one. */
  readonly sinceBest: number;
  /** true once patience ran out: training stops after this state. */
  readonly stopped: boolean;
}

/**
 * Early stopping as a reducer over an evaluation observer's log: after each new evaluation,
 * the monitored metric either improves on the best (by more than minDelta) or counts one more
 * evaluation without improvement; `patience` such evaluations in a row stop training. The best
 * state is kept, so its params can be restored.
 *
 * @example
 * const stopper = earlyStopping(periodicEvaluation({ every: 100, evaluate: onValidation }), { metric: (m) => m.loss, patience: 3 });
 * const { acc } = fitObserved(step, s0, batches, stopper);
 * const bestParams = acc.best?.state.params;
 */
export const earlyStopping = <S, M>(evaluations: Observer<S, EvaluationLog<M>>, opts: EarlyStoppingOptions<M>): Observer<S, EarlyStoppingAcc<S, M>> => {
  const { metric, mode = 'min', patience, minDelta = 0 } = opts;
  if (!Number.isInteger(patience) || patience < 1) throw new FoldnetError('value', `earlyStopping: patience must be a positive integer, got ${patience}`);
  if (!(minDelta >= 0)) throw new FoldnetError('value', `earlyStopping: minDelta must be >= 0, got ${minDelta}`);
  const better = (v: number, best: number): boolean => (mode === 'min' ? v < best - minDelta : v > best + minDelta);
  const fold = (acc: EarlyStoppingAcc<S, M>, log: EvaluationLog<M>, state: TrainState<S>): EarlyStoppingAcc<S, M> => {
    if (log.history.length === acc.evaluations.history.length) return Object.freeze({ ...acc, evaluations: log });
    const entry = log.history[log.history.length - 1];
    const value = metric(entry.metrics);
    if (acc.best === undefined || better(value, acc.best.value)) {
      return Object.freeze({ evaluations: log, best: Object.freeze({ step: entry.step, value, state }), sinceBest: 0, stopped: false });
    }
    const sinceBest = acc.sinceBest + 1;
    return Object.freeze({ evaluations: log, best: acc.best, sinceBest, stopped: sinceBest >= patience });
  };
  return {
    init: Object.freeze({ evaluations: evaluations.init, best: undefined, sinceBest: 0, stopped: false }),
    step: (acc, state) => fold(acc, evaluations.step(acc.evaluations, state), state),
    end: (acc, state) => (evaluations.end === undefined ? acc : fold(acc, evaluations.end(acc.evaluations, state), state)),
    stop: (acc) => acc.stopped,
  };
};

/** A progress report, emitted every `every` steps and at the end. */
export interface ProgressEvent {
  readonly step: number;
  /** Total steps when known (for a bar), else undefined. */
  readonly total: number | undefined;
  /** The last batch loss. */
  readonly loss: number;
  /** The mean batch loss over the steps since the previous event (NaN losses of skipped steps excluded). */
  readonly meanLoss: number;
  /** Steps skipped on a numeric fault since the previous event. */
  readonly skipped: number;
}

/** The accumulator of `progress`: the event of the latest state (undefined between events and when nothing is new). */
export interface ProgressAcc {
  readonly event: ProgressEvent | undefined;
  readonly lossSum: number;
  readonly lossCount: number;
  readonly skipped: number;
}

/**
 * Progress events every `every` steps and at the end, with the mean loss of the window: what a
 * CLI prints or feeds a progress bar. The observer only computes; printing is the caller's.
 *
 * @example
 * for (const o of observe(s0, scan(step, s0, batches), progress({ every: 10, total: 1000 })))
 *   if (o.acc.event) console.log(`${o.acc.event.step}/${o.acc.event.total} loss ${o.acc.event.meanLoss.toFixed(3)}`);
 */
export const progress = <S>({ every = 1, total }: { every?: number; total?: number } = {}): Observer<S, ProgressAcc> => {
  if (!Number.isInteger(every) || every < 1) throw new FoldnetError('value', `progress: every must be a positive integer, got ${every}`);
  const emit = (acc: ProgressAcc, state: TrainState<S>): ProgressAcc =>
    Object.freeze({
      event: Object.freeze({ step: state.step, total, loss: state.loss, meanLoss: acc.lossCount > 0 ? acc.lossSum / acc.lossCount : Number.NaN, skipped: acc.skipped }),
      lossSum: 0,
      lossCount: 0,
      skipped: 0,
    });
  return {
    init: Object.freeze({ event: undefined, lossSum: 0, lossCount: 0, skipped: 0 }),
    step: (acc, state) => {
      const ok = state.fault === undefined;
      const next: ProgressAcc = {
        event: undefined,
        lossSum: acc.lossSum + (ok ? state.loss : 0),
        lossCount: acc.lossCount + (ok ? 1 : 0),
        skipped: acc.skipped + (ok ? 0 : 1),
      };
      return state.step % every === 0 ? emit(next, state) : Object.freeze(next);
    },
    // the final report covers the steps since the last event; none left means it was just emitted
    end: (acc, state) => (acc.lossCount === 0 && acc.skipped === 0 && acc.event !== undefined ? Object.freeze({ ...acc, event: undefined }) : emit(acc, state)),
  };
};

/** The accumulator of `periodicCheckpoint`. */
export interface CheckpointDue {
  /** Whether the state just observed is to be saved now. */
  readonly due: boolean;
}

/** Options of `periodicCheckpoint`. */
export interface PeriodicCheckpointOptions {
  /** Save after every `every` steps (state.step % every === 0); 0: only at the end. */
  readonly every: number;
  /** The run's last step, when known: not due inside the stream, since the end saves that state anyway. */
  readonly total?: number;
}

/**
 * When to save a checkpoint: every `every` steps, and always at the end (batches exhausted, a
 * stop, a fault, an abort), so the saved state is the last one reached. The observer only says
 * when; saving (and where) is the caller's, e.g. with `saveTrainState`.
 *
 * @example
 * for (const o of observe(s0, scan(step, s0, batches), periodicCheckpoint({ every: 100 })))
 *   if (o.acc.due) saveTrainState('run/checkpoint.safetensors', { network: net, optimizer, state: o.state });
 */
export const periodicCheckpoint = <S>({ every, total }: PeriodicCheckpointOptions): Observer<S, CheckpointDue> => {
  if (!Number.isInteger(every) || every < 0) throw new FoldnetError('value', `periodicCheckpoint: every must be an integer >= 0, got ${every}`);
  const due: CheckpointDue = Object.freeze({ due: true });
  const notDue: CheckpointDue = Object.freeze({ due: false });
  return {
    init: notDue,
    step: (_, state) => (every > 0 && state.step % every === 0 && state.step !== total ? due : notDue),
    end: () => due,
  };
};

/** The accumulator of `numericFaults`. */
export interface FaultLog {
  /** Steps skipped so far on a non-finite loss, gradient or update. */
  readonly count: number;
  /** The fault of the state just observed (what a printer warns about), if it had one. */
  readonly latest: NumericFault | undefined;
}

/**
 * Counts the steps skipped on a numeric fault (with `scan`'s `onFault: 'skip'`, or the one a
 * 'stop' ends on), and keeps the latest fault for a warning.
 *
 * @example
 * const { acc } = fitObserved(step, s0, batches, numericFaults(), { onFault: 'skip' });
 * acc.count; // steps skipped
 */
export const numericFaults = <S>(): Observer<S, FaultLog> => {
  const none: FaultLog = Object.freeze({ count: 0, latest: undefined });
  return {
    init: none,
    step: (log, state) =>
      state.fault !== undefined
        ? Object.freeze({ count: log.count + 1, latest: state.fault })
        : log.latest === undefined ? log : Object.freeze({ count: log.count, latest: undefined }),
  };
};

/**
 * Every step's batch loss, newest first, as a persistent list: observing a step adds one cell and
 * copies nothing, so a run of any length keeps its whole loss curve in linear time.
 */
export interface LossHistory {
  readonly step: number;
  /** The batch loss of that step (NaN or infinite on a step skipped for it). */
  readonly loss: number;
  /** The steps before, newest first; undefined before the first one observed. */
  readonly earlier: LossHistory | undefined;
}

/**
 * The batch loss of every step observed (a loss chart's points). Read it with `lossPoints` and
 * `meanLossAfter`.
 *
 * @example
 * const { acc } = fitObserved(step, s0, batches, lossHistory());
 * lossPoints(acc); // [{ step: 1, loss: 2.30 }, { step: 2, loss: 2.21 }, ...]
 */
export const lossHistory = <S>(): Observer<S, LossHistory | undefined> => ({
  init: undefined,
  step: (earlier, state) => Object.freeze({ step: state.step, loss: state.loss, earlier }),
});

/**
 * The steps and losses of a `lossHistory`, oldest first.
 *
 * @example
 * lossPoints({ step: 2, loss: 0.5, earlier: { step: 1, loss: 0.9, earlier: undefined } });
 * // [{ step: 1, loss: 0.9 }, { step: 2, loss: 0.5 }]
 */
export const lossPoints = (history: LossHistory | undefined): { readonly step: number; readonly loss: number }[] => {
  const points: { readonly step: number; readonly loss: number }[] = [];
  for (let h = history; h !== undefined; h = h.earlier) points.push({ step: h.step, loss: h.loss });
  return points.reverse();
};

/**
 * The mean of the finite batch losses of the steps after `step` (the loss of an evaluation
 * window), NaN when there is none. The sum runs oldest first from 0, as a running sum over the
 * window would, so the result does not depend on how the window is kept.
 *
 * @example
 * meanLossAfter({ step: 3, loss: 1, earlier: { step: 2, loss: NaN, earlier: { step: 1, loss: 4, earlier: undefined } } }, 1); // 1
 */
export const meanLossAfter = (history: LossHistory | undefined, step: number): number => {
  const finite: number[] = [];
  for (let h = history; h !== undefined && h.step > step; h = h.earlier) if (Number.isFinite(h.loss)) finite.push(h.loss);
  let sum = 0;
  for (let i = finite.length - 1; i >= 0; i--) sum += finite[i];
  return finite.length === 0 ? Number.NaN : sum / finite.length;
};

/**
 * Whether training has stalled: at least `minSteps` steps observed after `step`, and every finite loss among them
 * within `tolerance` (relative) of the first loss of the history, the loss the run started from. A network that
 * guesses stays at ln K; that is what too small a weight scale for plain SGD, or a learning rate far off, look like.
 *
 * @example lossStalledAfter(history, 0, { minSteps: 100, tolerance: 0.01 }) // true for 100 steps at 2.3026 +- 1%
 */
export const lossStalledAfter = (history: LossHistory | undefined, step: number, o: { readonly minSteps: number; readonly tolerance: number }): boolean => {
  let first: number | undefined;
  for (let h = history; h !== undefined; h = h.earlier) if (Number.isFinite(h.loss)) first = h.loss;
  if (first === undefined) return false;
  let steps = 0;
  for (let h = history; h !== undefined && h.step > step; h = h.earlier) {
    if (Number.isFinite(h.loss) && Math.abs(h.loss - first) > o.tolerance * Math.abs(first)) return false;
    steps++;
  }
  return steps >= o.minSteps;
};

/** What `abortable` knows of a signal: AbortSignal has it, and so can a test's plain object. */
export interface AbortFlag {
  readonly aborted: boolean;
}

/** The accumulator of `abortable`: the wrapped observer's, and whether the signal stopped training. */
export interface AbortableAcc<A> {
  readonly inner: A;
  /** Set by the final observation: true when the signal ended training. */
  readonly aborted: boolean;
}

/**
 * Stops training when `signal` is aborted (a Ctrl-C, a Stop button), after the step under way;
 * the wrapped observer's `end` (a final evaluation) is then skipped, so stopping is quick. The
 * signal is read when the next state would be pulled, so an abort that comes while the caller
 * awaits between steps stops before any further step is computed.
 *
 * @example
 * const stop = new AbortController();
 * process.on('SIGINT', () => stop.abort());
 * const { acc } = fitObserved(step, s0, batches, abortable(periodicEvaluation({ every: 10, evaluate }), stop.signal));
 * acc.aborted; // true when Ctrl-C ended it
 */
export const abortable = <S, A>(observer: Observer<S, A>, signal: AbortFlag): Observer<S, AbortableAcc<A>> => ({
  init: Object.freeze({ inner: observer.init, aborted: false }),
  step: (acc, state) => Object.freeze({ inner: observer.step(acc.inner, state), aborted: false }),
  stop: (acc) => signal.aborted || observer.stop?.(acc.inner) === true,
  end: (acc, state) =>
    signal.aborted
      ? Object.freeze({ inner: acc.inner, aborted: true })
      : Object.freeze({ inner: observer.end === undefined ? acc.inner : observer.end(acc.inner, state), aborted: false }),
});
