import { isLeft } from 'fp-ts/lib/Either.js';
import { defaultLoss, parseLoss, type Loss } from '@foldnet/layers';
import { evaluate } from '@foldnet/train';
import type { TrainCheckpoint } from '../checkpoint.js';
import { UsageError } from '../errors.js';
import { optBoolean, optNumber } from '../flags.js';
import type { Io } from '../io.js';
import { applyComputeOptions, loadTestSet, loadTrainedNetwork, memoryLimit, refuseEvaluationOverMemory } from './common.js';

/**
 * The confusion matrix as a text table: rows true classes, columns predictions.
 *
 * @example
 * formatConfusion([[5, 1], [0, 4]]);
 * // 'true\\pred   0   1\n        0   5   1\n        1   0   4'
 */
export const formatConfusion = (confusion: readonly (readonly number[])[]): string => {
  const width = Math.max(3, ...confusion.flat().map((n) => String(n).length)) + 1;
  const header = `true\\pred${confusion.map((_, p) => String(p).padStart(width)).join('')}`;
  const rows = confusion.map((row, t) => `${String(t).padStart(9)}${row.map((n) => String(n).padStart(width)).join('')}`);
  return [header, ...rows].join('\n');
};

/** The loss a checkpoint was trained with, as its saved config names it (`ce:smooth=0.1`); the lesson's for one that names none. */
const trainedLoss = (checkpoint: TrainCheckpoint, file: string): Loss => {
  const saved = checkpoint.config;
  const text = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? Reflect.get(saved, 'loss') : undefined;
  if (text === undefined) return defaultLoss;
  const r = parseLoss(typeof text === 'string' ? text : JSON.stringify(text));
  if (isLeft(r)) throw new UsageError(`${file}: its saved config: loss: ${r.left}`);
  return r.right;
};

/**
 * Each class's accuracy as text lines, `  T-shirt/top  0.9120  (912 of 1000)`, names padded to one width.
 *
 * @example formatPerClass([0.5, 1], [[1, 1], [0, 3]], ['0', '1']) // '  0  0.5000  (1 of 2)\n  1  1.0000  (3 of 3)'
 */
export const formatPerClass = (perClass: readonly number[], confusion: readonly (readonly number[])[], classNames: readonly string[]): string => {
  const names = perClass.map((_, c) => classNames[c] ?? String(c));
  const width = Math.max(...names.map((n) => n.length));
  return perClass
    .map((a, c) => {
      const row = confusion[c] ?? [];
      const total = row.reduce((x, y) => x + y, 0);
      return `  ${names[c].padEnd(width)}  ${total === 0 ? '     –' : a.toFixed(4)}  (${row[c] ?? 0} of ${total})`;
    })
    .join('\n');
};

/**
 * `foldnet eval <checkpoint> [--dataset name] [--data dir] [--test-size n] [--json]`: test accuracy, loss and the
 * confusion matrix of a trained network. An empty test set is an error (exit 2), and so is a
 * checkpoint holding NaN or Infinity (exit 1): neither has an accuracy.
 *
 * @example
 * await evalCommand('runs/x/checkpoint.safetensors', {}, nodeIo());
 */
export const evalCommand = async (file: string, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const { checkpoint, network, params, layerState } = loadTrainedNetwork(file, io);
  applyComputeOptions(opts);
  const test = loadTestSet(opts, io, optNumber(opts, 'testSize'), checkpoint, network);
  // An accuracy over no images is 0/0: say so rather than print "NaN" and exit 0.
  if ((test.x.shape[0] ?? 0) === 0) throw new UsageError(`${test.source}: the test set holds no images, so there is nothing to evaluate`);
  refuseEvaluationOverMemory(network, file, test.x.shape[0] ?? 0, memoryLimit(io.env));
  const loss = trainedLoss(checkpoint, file);
  const e = evaluate(network, params, layerState, test, { loss, topK: optNumber(opts, 'topK') ?? 5 });
  // the class names the checkpoint keeps (an image folder's): the test set carries them, its per-class lines name them
  const classNames = checkpoint.data?.classNames === undefined ? undefined : test.classNames;
  if (optBoolean(opts, 'json') === true) {
    const { accuracy, topK, topKAccuracy, perClassAccuracy, confusion } = e;
    io.out(`${JSON.stringify({ checkpoint: file, step: checkpoint.step, data: test.source, count: e.count, accuracy, topK, topKAccuracy, perClassAccuracy, loss: e.loss, lossName: loss.text, confusion, ...(classNames === undefined ? {} : { classNames }) })}\n`);
    return;
  }
  io.out(
    `${file} (step ${checkpoint.step}) on ${e.count} test images of ${test.source}\n` +
      `test accuracy ${e.accuracy.toFixed(4)}, top-${e.topK} ${e.topKAccuracy.toFixed(4)}, test loss ${e.loss.toFixed(4)}${loss === defaultLoss ? '' : ` (${loss.text})`}\n\n` +
      `accuracy per class\n${formatPerClass(e.perClassAccuracy, e.confusion, test.classNames)}\n\n` +
      `confusion matrix (rows: true class, columns: predicted class)\n${formatConfusion(e.confusion)}\n` +
      (classNames === undefined ? '' : `classes: ${classNames.map((c, k) => `${k} ${c}`).join(', ')}\n`),
  );
};
