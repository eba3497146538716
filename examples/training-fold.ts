/**
 * Training as a fold, used directly from the API: `scan` turns a step function and a stream of
 * batches into a lazy stream of states, and observers are reducers over that stream. Two custom
 * observers here, combined into one:
 *   - a logger: the mean batch loss of every 50 steps, as a line in its accumulator (printing is ours);
 *   - early stopping on a plateau: the validation loss every 50 steps; stop after 3 evaluations in a
 *     row without an improvement of more than 0.5%, keeping the best state seen.
 *
 *   pnpm exec tsx examples/training-fold.ts                  (FOLDNET_EXAMPLE_QUICK=1: a smaller data set)
 */
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, sliceRows, split } from '@foldnet/core';
import { affine, conv2d, maxPool2d, network, relu, unwrap } from '@foldnet/layers';
import {
  adam,
  batchesOf,
  combine,
  evaluate,
  initTrainState,
  loadMnist,
  observe,
  sampleWithReplacement,
  scan,
  trainStep,
  type LabeledData,
  type Observer,
  type TrainState,
} from '@foldnet/train';

const quick = process.env.FOLDNET_EXAMPLE_QUICK === '1';

/** The logger's accumulator: the running window, and the line for the latest state (if one is due). */
interface LogAcc {
  readonly lossSum: number;
  readonly steps: number;
  readonly line: string | undefined;
}

/** Every `every` steps, a line with the window's mean batch loss. */
const logEvery = (every: number): Observer<unknown, LogAcc> => ({
  init: { lossSum: 0, steps: 0, line: undefined },
  step: (acc, s) => {
    const lossSum = acc.lossSum + s.loss;
    const steps = acc.steps + 1;
    return s.step % every === 0
      ? { lossSum: 0, steps: 0, line: `step ${s.step}: mean batch loss ${(lossSum / steps).toFixed(4)}` }
      : { lossSum, steps, line: undefined };
  },
});

/** The plateau detector's accumulator: the best validation loss, the state it was seen on, and the count since. */
interface PlateauAcc<S> {
  readonly best: { readonly loss: number; readonly state: TrainState<S> } | undefined;
  readonly sinceBest: number;
  readonly lastValidation: number | undefined;
  readonly stopped: boolean;
}

/** Validation loss every `every` steps; `stop` once `patience` evaluations in a row improve on the best by at most `minRelDelta`. */
const stopOnPlateau = <S>(validate: (s: TrainState<S>) => number, every: number, patience: number, minRelDelta: number): Observer<S, PlateauAcc<S>> => ({
  init: { best: undefined, sinceBest: 0, lastValidation: undefined, stopped: false },
  step: (acc, s) => {
    if (s.step % every !== 0) return { ...acc, lastValidation: undefined };
    const loss = validate(s);
    if (acc.best === undefined || loss < acc.best.loss * (1 - minRelDelta)) return { best: { loss, state: s }, sinceBest: 0, lastValidation: loss, stopped: false };
    const sinceBest = acc.sinceBest + 1;
    return { best: acc.best, sinceBest, lastValidation: loss, stopped: sinceBest >= patience };
  },
  stop: (acc) => acc.stopped,
});

const trainSize = quick ? 500 : 5000;
const mnist = loadMnist({ trainSize: trainSize + 1000 });
if (isLeft(mnist)) throw mnist.left;
const all = mnist.right.train;
// the first trainSize images train, the next 1000 validate
const train: LabeledData = { x: sliceRows(all.images, 0, trainSize), targets: all.labels.subarray(0, trainSize) };
const validation: LabeledData = { x: sliceRows(all.images, trainSize, trainSize + 1000), targets: all.labels.subarray(trainSize) };

const net = unwrap(network([1, 28, 28], [conv2d({ filters: 8, size: 5, weightInit: 'he' }), relu(), maxPool2d({ size: 2 }), affine({ units: 10, weightInit: 'he' })]));
const optimizer = adam({ lr: 0.003 });
const [modelKey, dataKey] = split(key(1));
const s0 = initTrainState(net, optimizer, modelKey);
const maxSteps = 5000;
const batches = batchesOf(train, sampleWithReplacement({ key: dataKey, n: trainSize, batchSize: 50, steps: maxSteps }));

const watch = combine(
  logEvery(50),
  stopOnPlateau((s: TrainState<unknown>) => evaluate(net, s.params, s.layerState, validation).loss, 50, 3, 0.005),
);
// observe pulls states from scan one at a time; once `stop` says so, no further step is computed.
// Only the final observation's state is kept: holding each state past its iteration would keep
// two sets of params alive while the next step runs.
let last = s0;
let plateau: PlateauAcc<unknown> | undefined;
for (const o of observe(s0, scan(trainStep(net, optimizer), s0, batches), watch)) {
  const [log, stopper] = o.acc;
  if (o.final) last = o.state;
  else if (log.line !== undefined) console.log(`${log.line}${stopper.lastValidation === undefined ? '' : `, validation loss ${stopper.lastValidation.toFixed(4)}`}`);
  plateau = stopper;
}
if (plateau?.best === undefined) throw new Error('no validation was made');
const best = plateau.best.state;
console.log(
  last.step < maxSteps
    ? `early stop at step ${last.step}: validation loss ${plateau.best.loss.toFixed(4)} at step ${best.step} was not beaten by 0.5% in 3 evaluations`
    : `ran all ${maxSteps} steps; best validation loss ${plateau.best.loss.toFixed(4)} at step ${best.step}`,
);
const test = { x: mnist.right.test.images, targets: mnist.right.test.labels };
console.log(`best state (step ${best.step}): test accuracy ${evaluate(net, best.params, best.layerState, test).accuracy.toFixed(4)}`);
