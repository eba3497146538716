import * as path from 'node:path';
import { sliceRows, tensor, type Tensor } from '@foldnet/core';
import { predict, softmax } from '@foldnet/layers';
import { MAX_IMAGE_FILE_BYTES, normalizeImages } from '@foldnet/train';
import { checkpointNormalization, imageInput } from '../folder-data.js';
import { otherFormatOfFile } from '../checkpoint.js';
import { MAX_PNG_FILE_BYTES, imageToMnist, resizeArea, type InvertMode } from '../digit.js';
import { UsageError } from '../errors.js';
import { optBoolean, optNumber } from '../flags.js';
import { readUserFile, type Io } from '../io.js';
import { argmaxAt } from '../predictions.js';
import { applyComputeOptions, loadTestSet, loadTrainedNetwork, memoryLimit, refuseEvaluationOverMemory } from './common.js';

/** The probabilities as lines with a bar: `  7  0.9934  ███████████████████▉`, each class's name after its number when given. */
export const formatProbabilities = (probs: readonly number[], predicted: number, classNames?: readonly string[]): string => {
  const width = Math.max(0, ...(classNames ?? []).map((c) => c.length));
  const named = (k: number): string => (classNames === undefined ? '' : ` ${(classNames[k] ?? '').padEnd(width)}`);
  return probs
    .map((p, k) => `${k === predicted ? '>' : ' '} ${String(k).padStart(2)}${named(k)}  ${p.toFixed(4)}  ${'\u2588'.repeat(Math.round(p * 30))}`)
    .join('\n');
};

/**
 * `foldnet predict <checkpoint> <image> | --index i`: the predicted class and the
 * probabilities of every class. A PNG or JPEG is converted to the network's input as MNIST digits
 * are drawn (see digit.ts: dark-on-light images are inverted unless --no-invert). A checkpoint trained
 * on an image folder takes a PNG or JPEG as training read the folder's images (channels converted,
 * resized bilinear to its input) and names the classes; a checkpoint that normalised its inputs
 * normalises the image by its saved statistics.
 *
 * @example
 * await predictCommand('runs/x/checkpoint.safetensors', 'seven.png', {}, nodeIo());
 */
export const predictCommand = async (file: string, image: string | undefined, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const index = optNumber(opts, 'index');
  if (image === undefined && index === undefined) {
    // `foldnet predict seven.png`: the image came where the checkpoint goes
    if (/^a (PNG|JPEG) image/.test(otherFormatOfFile(path.resolve(io.cwd, file)) ?? '')) {
      throw new UsageError(`${file} is an image: give the checkpoint first, foldnet predict <checkpoint.safetensors> ${file}`);
    }
    throw new UsageError('give an image (PNG or JPEG) or --index <i> (a test image)');
  }
  if (image !== undefined && index !== undefined) throw new UsageError('give an image (PNG or JPEG) or --index <i>, not both');
  const { checkpoint, network, params, layerState } = loadTrainedNetwork(file, io);
  refuseEvaluationOverMemory(network, file, 1, memoryLimit(io.env));
  applyComputeOptions(opts);
  const [channels = 1, height = 28, width = 28] = network.inputShape;
  const classNames = checkpoint.data?.classNames;
  let x: Tensor;
  let label: number | undefined;
  let inverted: boolean | undefined;
  if (index !== undefined) {
    // The whole test set (10000 MNIST images: 31 MB as float32), so an index past its end is told by its size.
    const test = loadTestSet(opts, io, undefined, checkpoint, network);
    const count = test.x.shape[0] ?? 0;
    if (index >= count) throw new UsageError(`--index ${index}: the test set has ${count} images${count === 0 ? '' : ` (0-${count - 1})`}`);
    x = sliceRows(test.x, index, index + 1);
    label = test.targets[index];
  } else if (classNames !== undefined) {
    // a network trained on an image folder: the picture read as training read the folder's, then normalised alike
    const stats = checkpoint.data?.normalize;
    const input = imageInput(readUserFile(io.cwd, image ?? '', 'image', MAX_IMAGE_FILE_BYTES), image ?? '', network.inputShape);
    x = stats === undefined ? input : normalizeImages(input, checkpointNormalization(file, stats, channels));
  } else {
    if (channels !== 1) throw new UsageError(`${file}: the network takes ${channels}-channel images; an image is converted to a grey digit only for 1-channel networks`);
    const invertFlag = optBoolean(opts, 'invert');
    const mode: InvertMode = invertFlag === undefined ? 'auto' : invertFlag ? 'yes' : 'no';
    const converted = imageToMnist(readUserFile(io.cwd, image ?? '', 'image', MAX_PNG_FILE_BYTES), image ?? '', mode);
    const fitted = height === 28 && width === 28 ? converted.image : resizeArea(converted.image, width, height);
    const digit = tensor(Array.from(fitted.pixels), [1, 1, height, width]);
    const stats = checkpoint.data?.normalize;
    x = stats === undefined ? digit : normalizeImages(digit, checkpointNormalization(file, stats, channels));
    inverted = converted.inverted;
  }
  const probs = Array.from(softmax(predict(network, params, layerState, x)).data);
  const predicted = argmaxAt(probs, 0, probs.length);
  if (optBoolean(opts, 'json') === true) {
    io.out(`${JSON.stringify({ predicted, ...(classNames === undefined ? {} : { class: classNames[predicted] }), probabilities: probs, ...(label === undefined ? {} : { label }), ...(inverted === undefined ? {} : { inverted }) })}\n`);
    return;
  }
  const nameOf = (k: number | undefined): string => (classNames === undefined || k === undefined ? '' : ` (${classNames[k] ?? '?'})`);
  const source = index !== undefined ? `test image ${index} (true label ${label ?? '?'}${classNames === undefined || label === undefined ? '' : `: ${classNames[label] ?? '?'}`})` : `${image ?? ''}${inverted === true ? ' (inverted: dark ink on a light background)' : ''}`;
  io.out(`${source}\npredicted ${predicted}${nameOf(predicted)} with probability ${(probs[predicted] ?? 0).toFixed(4)}\n${formatProbabilities(probs, predicted, classNames)}\n`);
};
