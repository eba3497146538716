import { describe, expect, test } from 'vitest';
import {
  combine, earlyStopping, fitObserved, observe, periodicEvaluation, progress, scan,
  type NumericFault, type Observer, type TrainState,
} from '@foldnet/train';
import { batches, s0, scripted } from './stand-in-step.js';

/*
 * Observers are reducers over the stream of states, so they are tested on a stand-in step that
 * only counts steps and reports a scripted loss: no network needed.
 */

const byStep = <M>(f: (step: number) => M) => (s: TrainState<null>): M => f(s.step);

describe('periodicEvaluation', () => {
  test('every=3 over 10 steps evaluates after steps 3, 6, 9 and at the end (10)', () => {
    const evals = periodicEvaluation({ every: 3, evaluate: byStep((t) => t * 10) });
    const { acc, state } = fitObserved(scripted([]), s0, batches(10), evals);
    expect(state.step).toBe(10);
    expect(acc.history).toEqual([{ step: 3, metrics: 30 }, { step: 6, metrics: 60 }, { step: 9, metrics: 90 }, { step: 10, metrics: 100 }]);
  });

  test('every=5 over 10 steps: steps 5 and 10 only (the end was just evaluated, no duplicate)', () => {
    const evals = periodicEvaluation({ every: 5, evaluate: byStep((t) => t) });
    const ticks = [...observe(s0, scan(scripted([]), s0, batches(10)), evals)];
    expect(ticks.length).toBe(11); // 10 steps and the final observation
    expect(ticks[10].final).toBe(true);
    expect(ticks[10].acc.history.map((e) => e.step)).toEqual([5, 10]);
    expect(ticks[9].acc.latest).toEqual({ step: 10, metrics: 10 });
    expect(ticks[10].acc.latest).toBeUndefined(); // nothing new to print at the end
    expect(ticks.filter((t) => t.acc.latest !== undefined).map((t) => t.state.step)).toEqual([5, 10]);
  });

  test('no batches: one final observation of the initial state, evaluated', () => {
    const evals = periodicEvaluation({ every: 5, evaluate: byStep((t) => t) });
    const ticks = [...observe(s0, scan(scripted([]), s0, batches(0)), evals)];
    expect(ticks).toEqual([{ state: s0, acc: { history: [{ step: 0, metrics: 0 }], latest: { step: 0, metrics: 0 } }, final: true }]);
  });
});

describe('earlyStopping', () => {
  test('patience=2, loss by step 5, 4, 4.5, 4.2, 3, ...: stops after step 4, best step 2, and step 5 is never computed', () => {
    const calls = { n: 0 };
    const losses = [5, 4, 4.5, 4.2, 3, 2, 1];
    const stopper = earlyStopping(periodicEvaluation({ every: 1, evaluate: byStep((t) => ({ loss: losses[t - 1] })) }), {
      metric: (m) => m.loss,
      patience: 2,
    });
    const { acc, state } = fitObserved(scripted(losses, calls), s0, batches(7), stopper);
    expect(state.step).toBe(4);
    expect(calls.n).toBe(4);
    expect(acc.stopped).toBe(true);
    expect(acc.best?.step).toBe(2);
    expect(acc.best?.value).toBe(4);
    expect(acc.best?.state.step).toBe(2); // the best state is kept, to restore its params
    expect(acc.evaluations.history.map((e) => e.metrics.loss)).toEqual([5, 4, 4.5, 4.2]);
  });

  test("mode 'max' with minDelta 0.01, accuracy 0.5, 0.505, 0.6, 0.59, 0.6: 0.505 is no improvement, patience 2 stops after 0.6", () => {
    const acc = [0.5, 0.505, 0.6, 0.59, 0.6, 0.7];
    const stopper = earlyStopping(periodicEvaluation({ every: 2, evaluate: byStep((t) => acc[t / 2 - 1]) }), {
      metric: (m) => m,
      mode: 'max',
      patience: 2,
      minDelta: 0.01,
    });
    const r = fitObserved(scripted([]), s0, batches(12), stopper);
    expect(r.acc.best).toMatchObject({ step: 6, value: 0.6 });
    expect(r.state.step).toBe(10); // evaluations at 2,4,6,8,10: 0.59 and 0.6 do not beat 0.6 + 0.01
  });

  test('without patience running out, training goes to the end', () => {
    const stopper = earlyStopping(periodicEvaluation({ every: 1, evaluate: byStep((t) => 10 - t) }), { metric: (m) => m, patience: 1 });
    const r = fitObserved(scripted([]), s0, batches(6), stopper);
    expect(r.state.step).toBe(6);
    expect(r.acc.stopped).toBe(false);
    expect(r.acc.best?.step).toBe(6);
  });

  test('patience 0 is refused', () => {
    expect(() => earlyStopping(periodicEvaluation({ every: 1, evaluate: () => 0 }), { metric: (m) => m, patience: 0 })).toThrow(
      'earlyStopping: patience must be a positive integer, got 0',
    );
  });
});

describe('progress', () => {
  test('every=4 over 10 steps: events after 4 and 8 and a final one at 10, each with the mean loss of its window', () => {
    const losses = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const ticks = [...observe(s0, scan(scripted(losses), s0, batches(10)), progress({ every: 4, total: 10 }))];
    const events = ticks.flatMap((t) => (t.acc.event === undefined ? [] : [t.acc.event]));
    expect(events).toEqual([
      { step: 4, total: 10, loss: 4, meanLoss: 2.5, skipped: 0 },
      { step: 8, total: 10, loss: 8, meanLoss: 6.5, skipped: 0 },
      { step: 10, total: 10, loss: 10, meanLoss: 9.5, skipped: 0 },
    ]);
    expect(ticks[ticks.length - 1].final).toBe(true);
  });

  test('steps skipped on a numeric fault are counted, and their NaN loss left out of the mean', () => {
    const fault: NumericFault = {
      _tag: 'NumericFault', step: 1, kind: 'loss', loss: Number.NaN, firstSample: 0, layer: undefined, where: undefined, param: undefined, tensor: undefined, message: 'step 1',
    };
    const step = (s: TrainState<null>): TrainState<null> =>
      s.step === 1 ? { ...s, step: 2, loss: Number.NaN, fault } : { ...s, step: s.step + 1, loss: 1, fault: undefined };
    const r = fitObserved(step, s0, batches(3), progress({ every: 3 }), { onFault: 'skip' });
    expect(r.state.step).toBe(3);
    const ticks = [...observe(s0, scan(step, s0, batches(3), { onFault: 'skip' }), progress({ every: 3 }))];
    expect(ticks[2].acc.event).toEqual({ step: 3, total: undefined, loss: 1, meanLoss: 1, skipped: 1 });
  });
});

describe('combine', () => {
  test('evaluation and progress side by side; either one stopping stops training', () => {
    const stopAt3: Observer<null, number> = { init: 0, step: (n) => n + 1, stop: (n) => n >= 3 };
    const both = combine(periodicEvaluation({ every: 2, evaluate: byStep((t) => t) }), stopAt3);
    const r = fitObserved(scripted([]), s0, batches(10), both);
    expect(r.state.step).toBe(3);
    expect(r.acc[0].history.map((e) => e.step)).toEqual([2, 3]);
    expect(r.acc[1]).toBe(3);
  });
});
