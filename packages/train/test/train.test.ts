import { describe, expect, test } from 'vitest';
import { alloc, foldIn, fromData, key, normal, randomIndices, split, type Key } from '@foldnet/core';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import {
  adam, batchesOf, combine, evaluate, evaluator, fitObserved, initTrainState, periodicEvaluation, progress, shuffledEpochs, trainStep,
  type LabeledData,
} from '@foldnet/train';

/*
 * A small image task for the lesson's SimpleConvNet (scaled down): 1x6x6 images holding one
 * pattern at a random place, on noise of std 0.2 —
 *   class 0: a horizontal bar of 4 pixels, class 1: a vertical bar of 4, class 2: a 2x2 square.
 * No single pixel tells the classes apart; a convolution does.
 */
const patterns = (k: Key, perClass: number): LabeledData => {
  const N = 3 * perClass;
  const noise = normal(foldIn(k, -1), [N, 1, 6, 6], { std: 0.2 });
  const x = alloc('float32', N * 36);
  x.set(noise.data);
  const labels = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const c = n % 3;
    labels[n] = c;
    const [line, start] = [randomIndices(foldIn(k, 2 * n), 6, 1)[0], randomIndices(foldIn(k, 2 * n + 1), 3, 1)[0]];
    const [r, q] = randomIndices(foldIn(k, 2 * n), 5, 2); // the square's top-left corner
    const cells: [number, number][] =
      c === 0 ? [0, 1, 2, 3].map((j): [number, number] => [line, start + j]) :
      c === 1 ? [0, 1, 2, 3].map((j): [number, number] => [start + j, line]) :
      [[r, q], [r, q + 1], [r + 1, q], [r + 1, q + 1]];
    for (const [i, j] of cells) x[n * 36 + i * 6 + j] += 1;
  }
  return { x: fromData([N, 1, 6, 6], x), targets: labels };
};

describe('the lesson SimpleConvNet, scaled to 1x6x6, learns a pattern task through the fold', () => {
  test('conv 8x3x3, relu, pool 2, affine 16, relu, affine 3; adam lr=0.02, 10 shuffled epochs of 20: held-out accuracy > 0.9', () => {
    const net = unwrap(simpleConvNet({ inputDim: [1, 6, 6], conv: { filterNum: 8, filterSize: 3 }, hiddenSize: 16, outputSize: 3, weightInit: 'he' }));
    const [modelKey, dataKey, trainKey, testKey] = split(key(7), 4);
    const train = patterns(trainKey, 100);
    const held = patterns(testKey, 50);
    const opt = adam({ lr: 0.02 });
    const s0 = initTrainState(net, opt, modelKey);
    const batches = batchesOf(train, shuffledEpochs({ key: dataKey, n: 300, batchSize: 20, epochs: 10 }));
    const observer = combine(periodicEvaluation({ every: 50, evaluate: evaluator(net, held) }), progress({ every: 50, total: batches.length }));
    const { state, acc } = fitObserved(trainStep(net, opt), s0, batches, observer);
    const [evals, prog] = acc;
    expect(state.step).toBe(150);
    expect(evals.history.map((e) => e.step)).toEqual([50, 100, 150]);
    const first = evaluate(net, s0.params, s0.layerState, held);
    const last = evals.history[evals.history.length - 1].metrics;
    expect(first.accuracy).toBeLessThan(0.6);
    expect(last.accuracy).toBeGreaterThan(0.9);
    expect(last.loss).toBeLessThan(first.loss / 2);
    expect(last.confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([50, 50, 50]);
    expect(prog.event).toBeUndefined(); // the final progress event was emitted with step 150
  });
});
