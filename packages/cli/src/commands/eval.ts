import { evaluate } from '@foldnet/train';
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
  const e = evaluate(network, params, layerState, test);
  const classNames = checkpoint.data?.classNames;
  if (optBoolean(opts, 'json') === true) {
    io.out(`${JSON.stringify({ checkpoint: file, step: checkpoint.step, data: test.source, count: e.count, accuracy: e.accuracy, loss: e.loss, confusion: e.confusion, ...(classNames === undefined ? {} : { classNames }) })}\n`);
    return;
  }
  io.out(
    `${file} (step ${checkpoint.step}) on ${e.count} test images of ${test.source}\n` +
      `test accuracy ${e.accuracy.toFixed(4)}, test loss ${e.loss.toFixed(4)}\n\n` +
      `confusion matrix (rows: true class, columns: predicted class)\n${formatConfusion(e.confusion)}\n` +
      (classNames === undefined ? '' : `classes: ${classNames.map((c, k) => `${k} ${c}`).join(', ')}\n`),
  );
};
