import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tensor } from '@foldnet/core';
import {
  abortable, combine, earlyStopping, fitObserved, followObserved, lossHistory, lossPoints, lossStalledAfter, meanLossAfter, numericFaults, observe, periodicCheckpoint, periodicEvaluation,
  scan, type LossHistory, type NumericFault, type Observer, type TrainState,
} from '@foldnet/train';
import { batches, s0, scripted } from './stand-in-step.js';

/*
 * The observers a training run is watched with (evaluation at the run's last step, checkpoint
 * cadence, numeric faults, the loss history, stopping on an abort signal), on a stand-in step
 * that counts steps and reports a scripted loss, as in fit-observers.test.ts.
 */

const faultAt = (step: number): NumericFault => ({
  _tag: 'NumericFault', step, kind: 'loss', loss: Number.NaN, firstSample: 0, layer: undefined, where: undefined, param: undefined, tensor: undefined, message: `step ${step}`,
});

/** A step that is skipped on a fault when it starts from one of `faulty` steps. */
const faultyAt = (faulty: readonly number[]) => (s: TrainState<null>): TrainState<null> =>
  faulty.includes(s.step) ? { ...s, step: s.step + 1, loss: Number.NaN, fault: faultAt(s.step) } : { ...s, step: s.step + 1, loss: 1, fault: undefined };

describe('periodicEvaluation with the run\'s last step (total)', () => {
  test('every=10, total=25 over 25 steps: 10, 20 and 25, the last one inside the stream (not left to the end)', () => {
    const evals = periodicEvaluation({ every: 10, total: 25, evaluate: (s: TrainState<null>) => s.step });
    const ticks = [...observe(s0, scan(scripted([]), s0, batches(25)), evals)];
    expect(ticks[24].acc.latest).toEqual({ step: 25, metrics: 25 });
    expect(ticks[25].final).toBe(true);
    expect(ticks[25].acc.latest).toBeUndefined();
    expect(ticks[25].acc.history.map((e) => e.step)).toEqual([10, 20, 25]);
  });

  test('every=0: only at total (7) when given, else only at the end; every=-1 is refused', () => {
    const at = (every: number, total?: number) =>
      fitObserved(scripted([]), s0, batches(9), periodicEvaluation({ every, ...(total === undefined ? {} : { total }), evaluate: (s: TrainState<null>) => s.step })).acc.history.map((e) => e.step);
    expect(at(0, 7)).toEqual([7, 9]);
    expect(at(0)).toEqual([9]);
    expect(() => periodicEvaluation({ every: -1, evaluate: () => 0 })).toThrow('periodicEvaluation: every must be an integer >= 0, got -1');
  });
});

describe('periodicCheckpoint', () => {
  test('every=3, total=10 over 10 steps: due after 3, 6 and 9, not at 10 inside the stream; always due at the end', () => {
    const ticks = [...observe(s0, scan(scripted([]), s0, batches(10)), periodicCheckpoint<null>({ every: 3, total: 10 }))];
    expect(ticks.filter((t) => !t.final && t.acc.due).map((t) => t.state.step)).toEqual([3, 6, 9]);
    expect(ticks[10]).toMatchObject({ final: true, acc: { due: true } });
    expect(ticks[10].state.step).toBe(10);
  });

  test('every=0: never inside the stream, once at the end; every=1.5 is refused', () => {
    const ticks = [...observe(s0, scan(scripted([]), s0, batches(4)), periodicCheckpoint<null>({ every: 0 }))];
    expect(ticks.map((t) => t.acc.due)).toEqual([false, false, false, false, true]);
    expect(() => periodicCheckpoint({ every: 1.5 })).toThrow('periodicCheckpoint: every must be an integer >= 0, got 1.5');
  });
});

describe('numericFaults', () => {
  test('steps 2 and 4 skipped (onFault skip): the count grows at each, and latest names the fault of the state just observed only', () => {
    const ticks = [...observe(s0, scan(faultyAt([1, 3]), s0, batches(6), { onFault: 'skip' }), numericFaults<null>())];
    expect(ticks.map((t) => t.acc.count)).toEqual([0, 1, 1, 2, 2, 2, 2]);
    expect(ticks.map((t) => t.acc.latest?.step)).toEqual([undefined, 1, undefined, 3, undefined, undefined, undefined]);
  });

  test('onFault stop: the stream ends on the first fault, counted once', () => {
    const r = fitObserved(faultyAt([2]), s0, batches(6), numericFaults<null>());
    expect(r.state.step).toBe(3);
    expect(r.acc).toEqual({ count: 1, latest: faultAt(2) });
  });
});

describe('lossHistory', () => {
  test('losses 1, NaN, 3, Infinity, 5: every point kept oldest first; the window means leave out the non-finite ones', () => {
    const { acc } = fitObserved(scripted([1, Number.NaN, 3, Number.POSITIVE_INFINITY, 5]), s0, batches(5), lossHistory<null>());
    expect(lossPoints(acc)).toEqual([
      { step: 1, loss: 1 },
      { step: 2, loss: Number.NaN },
      { step: 3, loss: 3 },
      { step: 4, loss: Number.POSITIVE_INFINITY },
      { step: 5, loss: 5 },
    ]);
    expect(meanLossAfter(acc, 0)).toBe(3);
    expect(meanLossAfter(acc, 2)).toBe(4);
    expect(meanLossAfter(acc, 3)).toBe(5);
    expect(Number.isNaN(meanLossAfter(acc, 5))).toBe(true);
    expect(lossPoints(undefined)).toEqual([]);
  });

  test('the window mean is the same bits as a running sum from 0 in step order (fast-check, seed 3)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 1e6 }).map((n) => n / 977), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(Number.NaN)), { maxLength: 40 }), fc.nat(40), (losses, after) => {
        let history: LossHistory | undefined;
        losses.forEach((loss, i) => (history = { step: i + 1, loss, earlier: history }));
        const window = losses.filter((l, i) => i + 1 > after && Number.isFinite(l));
        const expected = window.length === 0 ? Number.NaN : window.reduce((a, b) => a + b, 0) / window.length;
        expect(Object.is(meanLossAfter(history, after), expected)).toBe(true);
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  test('observing a step copies nothing: the history after step t holds the one after step t - 1', () => {
    const ticks = [...observe(s0, scan(scripted([]), s0, batches(3)), lossHistory<null>())];
    expect(ticks[2].acc?.earlier).toBe(ticks[1].acc);
  });
});

describe('abortable', () => {
  test('aborted while the caller handles step 3: no further step is computed, the wrapped end (a final evaluation) is skipped', () => {
    const calls = { n: 0 };
    const signal = { aborted: false };
    const watch = abortable(periodicEvaluation({ every: 2, evaluate: (s: TrainState<null>) => s.step }), signal);
    const seen: number[] = [];
    let final;
    for (const o of observe(s0, scan(scripted([], calls), s0, batches(10)), watch)) {
      if (o.final) final = o;
      else seen.push(o.state.step);
      if (o.state.step === 3) signal.aborted = true;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(calls.n).toBe(3);
    expect(final?.acc.aborted).toBe(true);
    expect(final?.acc.inner.history.map((e) => e.step)).toEqual([2]);
  });

  test('never aborted: the wrapped observer ends as it would alone, and its own stop still stops', () => {
    const evals = periodicEvaluation({ every: 2, evaluate: (s: TrainState<null>) => s.step });
    const r = fitObserved(scripted([]), s0, batches(5), abortable(evals, { aborted: false }));
    expect(r.acc.aborted).toBe(false);
    expect(r.acc.inner.history.map((e) => e.step)).toEqual([2, 4, 5]);
    const stopper = earlyStopping(periodicEvaluation({ every: 1, evaluate: (s: TrainState<null>) => s.step }), { metric: (m) => m, patience: 2 });
    const stopped = fitObserved(scripted([]), s0, batches(10), combine(abortable(stopper, { aborted: false }), numericFaults<null>()));
    expect(stopped.state.step).toBe(3);
    expect(stopped.acc[0].inner.stopped).toBe(true);
  });
});

describe('followObserved', () => {
  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  test('each is awaited on every observation but the final, in order, before the next step; the final one is returned', async () => {
    const calls = { n: 0 };
    const seen: string[] = [];
    const final = await followObserved(scripted([], calls), s0, batches(3), periodicEvaluation({ every: 2, evaluate: (s: TrainState<null>) => s.step }), async (o) => {
      seen.push(`step ${o.state.step} after ${calls.n} computed`);
      await nextTurn();
    });
    expect(seen).toEqual(['step 1 after 1 computed', 'step 2 after 2 computed', 'step 3 after 3 computed']);
    expect(final.final).toBe(true);
    expect(final.acc.history.map((e) => e.step)).toEqual([2, 3]);
  });

  test('an abort signalled while each awaits stops before the next step', async () => {
    const calls = { n: 0 };
    const stop = new AbortController();
    const final = await followObserved(scripted([], calls), s0, batches(10), abortable(numericFaults<null>(), stop.signal), async (o) => {
      await nextTurn();
      if (o.state.step === 2) stop.abort();
    });
    expect(calls.n).toBe(2);
    expect(final.acc.aborted).toBe(true);
  });

  test('while the observers run on state t, state t - 1 can be collected (nothing in observe, scan or followObserved holds it)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    const isGc = (u: unknown): u is () => void => typeof u === 'function';
    if (!isGc(gc)) throw new Error('no gc() to call');
    // each state carries a params record of its own, watched through a WeakRef
    const step = (s: TrainState<null>): TrainState<null> => ({ ...s, step: s.step + 1, params: { W: tensor([s.step]) }, loss: 1 });
    const refs = new Map<number, WeakRef<object>>();
    const previousAlive: boolean[] = [];
    const watch: Observer<null, number> = {
      init: 0,
      step: (n, s) => {
        gc();
        previousAlive.push(refs.get(s.step - 1)?.deref() !== undefined);
        refs.set(s.step, new WeakRef(s.params));
        return n + 1;
      },
    };
    await followObserved(step, s0, batches(6), watch, nextTurn);
    expect(previousAlive).toEqual([false, false, false, false, false, false]);
  });
});

describe('lossStalledAfter', () => {
  const history = (losses: readonly number[]): LossHistory | undefined =>
    losses.reduce<LossHistory | undefined>((earlier, loss, i) => ({ step: i + 1, loss, earlier }), undefined);
  test('true only when at least minSteps steps after `step` all lie within tolerance of the first loss', () => {
    const flat = history(Array.from({ length: 120 }, (_, i) => 2.3 + (i % 2 === 0 ? 0.01 : -0.01)));
    expect(lossStalledAfter(flat, 0, { minSteps: 100, tolerance: 0.01 })).toBe(true);
    expect(lossStalledAfter(flat, 30, { minSteps: 100, tolerance: 0.01 })).toBe(false); // 90 steps only
    const falling = history(Array.from({ length: 120 }, (_, i) => 2.3 - i * 0.01));
    expect(lossStalledAfter(falling, 0, { minSteps: 100, tolerance: 0.01 })).toBe(false);
    const skipped = history([2.3, Number.NaN, ...Array.from({ length: 100 }, () => 2.31)]);
    expect(lossStalledAfter(skipped, 0, { minSteps: 100, tolerance: 0.01 })).toBe(true);
    expect(lossStalledAfter(undefined, 0, { minSteps: 1, tolerance: 0.01 })).toBe(false);
  });
});
