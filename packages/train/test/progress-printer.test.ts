import { describe, expect, test } from 'vitest';
import { key, tensor } from '@foldnet/core';
import { combine, earlyStopping, fitObserved, formatDuration, periodicEvaluation, printProgress, streamOf, tickProgress, startProgressClock, type Batch, type TrainState } from '@foldnet/train';

/*
 * printProgress: progress lines from the library, to a stream the caller chooses, on a stand-in
 * step (as in fit-run-observers.test.ts) and a fake clock that advances a fixed time per step.
 */
const s0: TrainState<null> = { step: 0, params: {}, layerState: {}, opt: null, key: key(0), loss: Number.NaN, fault: undefined };
const dummy: Batch = { x: tensor([0]), targets: Int32Array.of(0) };
const batches = (n: number) => streamOf(() => dummy, n);

/** A fake clock that moves `msPerStep` each time the step runs. */
const fakeClock = (msPerStep: number) => {
  const clock = { t: 0 };
  const step = (s: TrainState<null>): TrainState<null> => {
    clock.t += msPerStep;
    return { ...s, step: s.step + 1, loss: 1 / (s.step + 1), fault: undefined };
  };
  return { now: () => clock.t, step };
};

/** A sink that keeps what is written: any object with write(string) will do. */
const sink = () => {
  const lines: string[] = [];
  return { lines, write: (text: string) => lines.push(text) };
};

describe('printProgress', () => {
  test('1000 steps at 10 steps/s, total known: a line at each tenth, with loss, speed and ETA, to the sink given', () => {
    const { now, step } = fakeClock(100);
    const out = sink();
    fitObserved(step, s0, batches(1000), printProgress(out, { total: 1000, now, intervalSeconds: 1e9 }));
    expect(out.lines).toHaveLength(10);
    expect(out.lines[0]).toBe('step 100/1000 (10%)  loss 0.0100  10.0 steps/s  ETA 1 min 30 s\n');
    expect(out.lines[9]).toBe('step 1000/1000 (100%)  loss 0.0010  10.0 steps/s  ETA 0.0 s\n');
  });

  test('slow steps (3 s each) print every 5 s; without a total the line has no share or ETA', () => {
    const { now, step } = fakeClock(3000);
    const out = sink();
    fitObserved(step, s0, batches(6), printProgress(out, { now }));
    // lines after steps 2, 4 and 6 (the interval), the last one again only if it was not printed
    expect(out.lines).toEqual(['step 2  loss 0.5000  0.3 steps/s\n', 'step 4  loss 0.2500  0.3 steps/s\n', 'step 6  loss 0.1667  0.3 steps/s\n']);
  });

  test('a run that stops early (early stopping) ends with a line for the step it stopped at', () => {
    const { now, step } = fakeClock(10);
    const out = sink();
    // the metric never improves after the first evaluation: stops after 3 evaluations of 5 steps
    const stopper = earlyStopping(periodicEvaluation({ every: 5, evaluate: () => 1 }), { metric: (m: number) => m, patience: 2 });
    const { state } = fitObserved(step, s0, batches(1000), combine(stopper, printProgress(out, { total: 1000, now })));
    expect(state.step).toBe(15);
    expect(out.lines).toEqual(['step 15/1000 (1%)  loss 0.0667  100.0 steps/s  ETA 9.8 s\n']);
  });

  test('a resumed state (step 500): speed counts from the first step it takes, not from 0', () => {
    const { now, step } = fakeClock(50);
    const out = sink();
    fitObserved(step, { ...s0, step: 500 }, batches(100), printProgress(out, { total: 600, now, intervalSeconds: 1e9 }));
    // a tenth of 600 is 60 steps: lines at 560 and 600
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toBe('step 560/600 (93%)  loss 0.0018  20.0 steps/s  ETA 2.0 s\n');
    expect(out.lines[out.lines.length - 1]).toBe('step 600/600 (100%)  loss 0.0017  20.0 steps/s  ETA 0.0 s\n');
  });

  test('bad arguments are refused with the reason: a sink without write, a negative interval', () => {
    // an untyped caller (plain JS) passing something that cannot be written to
    const notASink: unknown = {};
    expect(() => printProgress(notASink as { write: (s: string) => void })).toThrow('printProgress: out must be an object with a write(text) method');
    expect(() => printProgress(sink(), { intervalSeconds: -1 })).toThrow('printProgress: intervalSeconds must be positive, got -1');
  });

  test('tickProgress is pure: the clock it is given is unchanged, the line depends only on its arguments', () => {
    const clock = startProgressClock(0, 0);
    const a = tickProgress(clock, 100, 0.43, 10_000, { total: 1000, intervalMs: 5000 });
    expect(a.line).toBe('step 100/1000 (10%)  loss 0.4300  10.0 steps/s  ETA 1 min 30 s');
    expect(clock).toEqual({ startedAt: 0, startStep: 0, lastLineAt: 0, lastLineStep: 0 });
    expect(tickProgress(a.clock, 101, 0.43, 10_100, { total: 1000, intervalMs: 5000 }).line).toBeUndefined();
    expect(formatDuration(3725)).toBe('1 h 02 min');
  });
});
