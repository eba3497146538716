/**
 * The run folder of `foldnet train`, from a program: train with the library's fold, keep what the
 * CLI keeps (an evaluation row every few steps, every step's batch loss), and write the same folder
 * with `writeRunFolder`: config.json, metrics.jsonl/.csv, losses.jsonl, the accuracy and loss charts,
 * report.html, and a checkpoint that `foldnet eval`, `export` and `train --resume` take.
 *
 *   pnpm exec tsx examples/run-folder.ts runs/from-api      (FOLDNET_EXAMPLE_QUICK=1: 40 steps on 500 images)
 */
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, split } from '@foldnet/core';
import { affine, conv2d, maxPool2d, network, relu, unwrap } from '@foldnet/layers';
import {
  adam,
  batchesOf,
  combine,
  evaluate,
  fitObserved,
  initTrainState,
  loadMnist,
  lossHistory,
  lossPoints,
  meanLossAfter,
  periodicEvaluation,
  sampleWithReplacement,
  trainStep,
} from '@foldnet/train';
import { runConfig, writeRunFolder, type MetricsRow } from '@foldnet/cli';

const quick = process.env.FOLDNET_EXAMPLE_QUICK === '1';
const dir = process.argv[2] ?? path.join('runs', 'from-api');
const trainSize = quick ? 500 : 5000;
const testSize = quick ? 200 : 1000;
const steps = quick ? 40 : 500;
const every = quick ? 10 : 50;

const mnist = loadMnist({ trainSize, testSize });
if (isLeft(mnist)) throw mnist.left;
const train = { x: mnist.right.train.images, targets: mnist.right.train.labels };
const test = { x: mnist.right.test.images, targets: mnist.right.test.labels };

const net = unwrap(network([1, 28, 28], [conv2d({ filters: 8, size: 5, weightInit: 'he' }), relu(), maxPool2d({ size: 2 }), affine({ units: 10, weightInit: 'he' })]));
const optimizer = adam();
const [modelKey, dataKey] = split(key(0));
const batches = batchesOf(train, sampleWithReplacement({ key: dataKey, n: trainSize, batchSize: 100, steps }));

// Two observers, as foldnet train has them: accuracies every `every` steps, and every step's batch loss.
const evaluations = periodicEvaluation({
  every,
  total: steps,
  evaluate: (s) => ({ train: evaluate(net, s.params, s.layerState, train), test: evaluate(net, s.params, s.layerState, test) }),
});
const { state, acc: [log, losses] } = fitObserved(trainStep(net, optimizer), initTrainState(net, optimizer, modelKey), batches, combine(evaluations, lossHistory()));

// One row per evaluation, as metrics.jsonl holds them: `loss` is the mean batch loss since the evaluation before.
const rows: MetricsRow[] = log.history.map((e, i) => ({
  step: e.step,
  loss: meanLossAfter(losses, i === 0 ? 0 : log.history[i - 1].step),
  train_acc: e.metrics.train.accuracy,
  test_acc: e.metrics.test.accuracy,
  test_loss: e.metrics.test.loss,
}));

const files = await writeRunFolder(
  dir,
  {
    // what the report states, and what `foldnet train --resume` goes on with
    config: runConfig({ model: 'conv8', iters: steps, trainSize, testSize, evalEvery: every }),
    network: net,
    state,
    optimizer,
    rows,
    stepLosses: lossPoints(losses),
    test,
  },
  // this example replaces the run it wrote before; without it, a folder holding a run is refused
  { overwrite: true },
);
console.log(`step ${state.step}: test accuracy ${rows[rows.length - 1].test_acc.toFixed(3)}`);
// paths as the user would type them: relative below this directory, absolute elsewhere
const shown = (f: string): string => (path.relative(process.cwd(), f).startsWith('..') ? f : path.relative(process.cwd(), f));
console.log(`wrote ${dir}${path.sep}\n${files.map((f) => `  ${shown(f)}`).join('\n')}`);
console.log(`continue it with: pnpm foldnet train --resume ${path.join(dir, 'checkpoint.safetensors')} --iters ${steps * 2}`);
