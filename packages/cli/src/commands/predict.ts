import * as fs from 'node:fs';
import * as path from 'node:path';
import { sliceRows, tensor, type Tensor } from '@foldnet/core';
import { predict, softmax } from '@foldnet/layers';
import { datasetInfo, isImageFileName, MAX_IMAGE_FILE_BYTES, normalizeImages } from '@foldnet/train';
import { checkpointNormalization, imageInput } from '../folder-data.js';
import { otherFormatOfFile } from '../checkpoint.js';
import { MAX_PNG_FILE_BYTES, imageToMnist, resizeArea, type InvertMode } from '../digit.js';
import { UsageError } from '../errors.js';
import { optBoolean, optNumber } from '../flags.js';
import { readUserFile, type Io } from '../io.js';
import { argmaxAt } from '../predictions.js';
import { applyComputeOptions, loadTestSet, loadTrainedNetwork, memoryLimit, refuseEvaluationOverMemory, trainedOn } from './common.js';

/** The probabilities as lines with a bar: `  7  0.9934  ███████████████████▉`, each class's name after its number when given. */
export const formatProbabilities = (probs: readonly number[], predicted: number, classNames?: readonly string[]): string => {
  const width = Math.max(0, ...(classNames ?? []).map((c) => c.length));
  const named = (k: number): string => (classNames === undefined ? '' : ` ${(classNames[k] ?? '').padEnd(width)}`);
  return probs
    .map((p, k) => `${k === predicted ? '>' : ' '} ${String(k).padStart(2)}${named(k)}  ${p.toFixed(4)}  ${'\u2588'.repeat(Math.round(p * 30))}`)
    .join('\n');
};

/**
 * The image files an argument names: the file itself, or a folder's .png, .jpg and .jpeg files (its
 * subfolders' too, so a folder of class folders is predicted whole), sorted by path. Other files of a
 * folder are counted in `ignored`; a folder of no images is an error naming it.
 */
const imageFilesOf = (cwd: string, given: string, ignored: string[]): string[] => {
  const full = path.resolve(cwd, given);
  if (!fs.statSync(full, { throwIfNoEntry: false })?.isDirectory()) return [given];
  const files: string[] = [];
  for (const entry of fs.readdirSync(full, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!fs.statSync(path.join(full, entry)).isFile()) continue;
    if (isImageFileName(entry)) files.push(path.join(given, entry));
    else ignored.push(path.join(given, entry));
  }
  if (files.length === 0) throw new UsageError(`${given}: holds no .png, .jpg or .jpeg images (in it or its subfolders)`);
  return files;
};

/**
 * `foldnet predict <checkpoint> <image|folder>... | --index i`: the predicted class and the
 * probabilities of every class. A PNG or JPEG is converted to the network's input as MNIST digits
 * are drawn (see digit.ts: dark-on-light images are inverted unless --no-invert). A checkpoint trained
 * on an image folder takes a PNG or JPEG as training read the folder's images (channels converted,
 * resized bilinear to its input) and names the classes; a checkpoint that normalised its inputs
 * normalises the image by its saved statistics. Several images, or a folder of them, give one line
 * each (one JSON object a line with --json), predicted one at a time as a single image is.
 *
 * @example
 * await predictCommand('runs/x/checkpoint.safetensors', ['seven.png'], {}, nodeIo());
 */
export const predictCommand = async (file: string, images: readonly string[], opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const index = optNumber(opts, 'index');
  const [first] = images;
  if (first === undefined && index === undefined) {
    // `foldnet predict seven.png`: the image came where the checkpoint goes
    if (/^a (PNG|JPEG) image/.test(otherFormatOfFile(path.resolve(io.cwd, file)) ?? '')) {
      throw new UsageError(`${file} is an image: give the checkpoint first, foldnet predict <checkpoint.safetensors> ${file}`);
    }
    throw new UsageError('give an image (PNG or JPEG), a folder of images or --index <i> (a test image)');
  }
  if (first !== undefined && index !== undefined) throw new UsageError('give images (PNG or JPEG) or --index <i>, not both');
  const ignored: string[] = [];
  const files = images.flatMap((given) => imageFilesOf(io.cwd, given, ignored));
  const { checkpoint, network, params, layerState } = loadTrainedNetwork(file, io);
  refuseEvaluationOverMemory(network, file, 1, memoryLimit(io.env));
  applyComputeOptions(opts);
  const [channels = 1, height = 28, width = 28] = network.inputShape;
  // a network trained on an image folder reads images as training read the folder's, and names its classes; one
  // trained on Fashion-MNIST names them by the dataset's names (MNIST's classes are the digits themselves)
  const folderTrained = checkpoint.data?.classNames !== undefined;
  const dataset = trainedOn(checkpoint);
  const classNames = checkpoint.data?.classNames ?? (dataset === undefined || dataset === 'mnist' ? undefined : datasetInfo(dataset).classNames);
  const json = optBoolean(opts, 'json') === true;
  const stats = checkpoint.data?.normalize === undefined ? undefined : checkpointNormalization(file, checkpoint.data.normalize, channels);
  const normalized = (x: Tensor): Tensor => (stats === undefined ? x : normalizeImages(x, stats));
  const probabilitiesOf = (x: Tensor): { readonly probs: number[]; readonly predicted: number } => {
    const probs = Array.from(softmax(predict(network, params, layerState, x)).data);
    return { probs, predicted: argmaxAt(probs, 0, probs.length) };
  };
  const nameOf = (k: number | undefined): string => (classNames === undefined || k === undefined ? '' : ` (${classNames[k] ?? '?'})`);

  if (index !== undefined) {
    // The whole test set (10000 MNIST images: 31 MB as float32), so an index past its end is told by its size.
    const test = loadTestSet(opts, io, undefined, checkpoint, network);
    const count = test.x.shape[0] ?? 0;
    if (index >= count) throw new UsageError(`--index ${index}: the test set has ${count} images${count === 0 ? '' : ` (0-${count - 1})`}`);
    const label = test.targets[index];
    const { probs, predicted } = probabilitiesOf(sliceRows(test.x, index, index + 1));
    if (json) {
      io.out(`${JSON.stringify({ predicted, ...(classNames === undefined ? {} : { class: classNames[predicted] }), probabilities: probs, label })}\n`);
      return;
    }
    const source = `test image ${index} (true label ${label ?? '?'}${classNames === undefined || label === undefined ? '' : `: ${classNames[label] ?? '?'}`})`;
    io.out(`${source}\npredicted ${predicted}${nameOf(predicted)} with probability ${(probs[predicted] ?? 0).toFixed(4)}\n${formatProbabilities(probs, predicted, classNames)}\n`);
    return;
  }

  if (!folderTrained && channels !== 1) throw new UsageError(`${file}: the network takes ${channels}-channel images; an image is converted to a grey digit only for 1-channel networks`);
  const invertFlag = optBoolean(opts, 'invert');
  const mode: InvertMode = invertFlag === undefined ? 'auto' : invertFlag ? 'yes' : 'no';
  // One image as the network takes it: read as training read the folder's images (a network trained on
  // an image folder), else drawn as an MNIST digit; then normalised alike.
  const inputOf = (image: string): { readonly x: Tensor; readonly inverted?: boolean } => {
    if (folderTrained) return { x: normalized(imageInput(readUserFile(io.cwd, image, 'image', MAX_IMAGE_FILE_BYTES), image, network.inputShape)) };
    const converted = imageToMnist(readUserFile(io.cwd, image, 'image', MAX_PNG_FILE_BYTES), image, mode);
    const fitted = height === 28 && width === 28 ? converted.image : resizeArea(converted.image, width, height);
    return { x: normalized(tensor(Array.from(fitted.pixels), [1, 1, height, width])), inverted: converted.inverted };
  };
  const many = files.length > 1 || files[0] !== first;
  if (many && ignored.length > 0) {
    io.err(`note: ignored ${ignored.length} ${ignored.length === 1 ? 'file that is' : 'files that are'} not a .png, .jpg or .jpeg image, e.g. ${ignored[0]}\n`);
  }
  // by a fold, not Math.max(...lengths): a folder of some 100,000 images would overflow the call's arguments
  const fileColumn = files.reduce((widest, f) => Math.max(widest, f.length), 0);
  const classWidth = Math.max(0, ...(classNames ?? []).map((c) => c.length));
  for (const image of files) {
    const { x, inverted } = inputOf(image);
    const { probs, predicted } = probabilitiesOf(x);
    const probability = (probs[predicted] ?? 0).toFixed(4);
    if (json) {
      io.out(`${JSON.stringify({ image, predicted, ...(classNames === undefined ? {} : { class: classNames[predicted] }), probabilities: probs, ...(inverted === undefined ? {} : { inverted }) })}\n`);
    } else if (many) {
      // one line an image: the file, the class (and its name), the probability
      const name = classNames === undefined ? '' : ` ${(classNames[predicted] ?? '?').padEnd(classWidth)}`;
      io.out(`${image.padEnd(fileColumn)}  ${String(predicted).padStart(2)}${name}  ${probability}${inverted === true ? '  (inverted)' : ''}\n`);
    } else {
      io.out(`${image}${inverted === true ? ' (inverted: dark ink on a light background)' : ''}\npredicted ${predicted}${nameOf(predicted)} with probability ${probability}\n${formatProbabilities(probs, predicted, classNames)}\n`);
    }
  }
};
