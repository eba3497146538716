import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromData, sizeOf, sliceRows, type Tensor } from '@foldnet/core';
import { predict, softmax } from '@foldnet/layers';
import { datasetInfo, isImageFileName, MAX_IMAGE_FILE_BYTES, normalizeImages } from '@foldnet/train';
import { checkpointNormalization, imageInput } from '../folder-data.js';
import { otherFormatOfFile } from '../checkpoint.js';
import { MAX_PNG_FILE_BYTES, imageToMnist, resizeArea, type InvertMode } from '../digit.js';
import { UsageError } from '../errors.js';
import { optBoolean, optNumber, optString } from '../flags.js';
import { readUserFile, type Io } from '../io.js';
import { argmaxAt } from '../predictions.js';
import { applyComputeOptions, forwardBatch, loadTestSet, loadTrainedNetwork, memoryLimit, refuseEvaluationOverMemory, trainedOn } from './common.js';

/** Images a forward pass takes when predicting files, unless --batch-size says otherwise or the memory limit asks for fewer. */
const PREDICT_BATCH = 100;

/** One image's pixels as the network takes them, [C, H, W] before normalisation, and whether a digit was inverted. */
interface ImageInput {
  readonly pixels: ArrayLike<number>;
  readonly inverted?: boolean;
}

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
 * folder are counted in `ignored`; a folder of no images, or an argument naming nothing, is an error
 * naming it, before any image is read. A link to nothing inside a folder is taken by its name, as the
 * image-folder reader takes it: its read fails in its turn, naming it.
 */
const imageFilesOf = (cwd: string, given: string, ignored: string[]): string[] => {
  const full = path.resolve(cwd, given);
  const stat = fs.statSync(full, { throwIfNoEntry: false });
  if (stat === undefined) throw new UsageError(`image ${given}: no such file or folder`);
  if (!stat.isDirectory()) return [given];
  const files: string[] = [];
  for (const entry of fs.readdirSync(full, { recursive: true, encoding: 'utf8' }).sort()) {
    // folders are walked by the listing itself; a FIFO or a socket is no image file
    const entryStat = fs.statSync(path.join(full, entry), { throwIfNoEntry: false });
    if (entryStat !== undefined && !entryStat.isFile()) continue;
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
 * each (one JSON object a line with --json), each what predicting its image alone gives, though the
 * images go through the network 100 at a time (--batch-size).
 *
 * @example
 * await predictCommand('runs/x/checkpoint.safetensors', ['seven.png'], {}, nodeIo());
 */
export const predictCommand = async (file: string, images: readonly string[], opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const index = optNumber(opts, 'index');
  const batchSize = optNumber(opts, 'batchSize');
  const [first] = images;
  // `foldnet predict seven.png`: the image came where the checkpoint goes
  if (first === undefined && index === undefined && /^a (PNG|JPEG) image/.test(otherFormatOfFile(path.resolve(io.cwd, file)) ?? '')) {
    throw new UsageError(`${file} is an image: give the checkpoint first, foldnet predict <checkpoint.safetensors> ${file}`);
  }
  // `foldnet predict ckpt --data photos`: --data and --dataset choose the test set of --index, not the images to predict
  const data = optString(opts, 'data');
  const testSet = optString(opts, 'dataset');
  if (index === undefined && data !== undefined) {
    throw new UsageError(`--data ${data}: chooses the test set --index <i> reads; images and folders to predict are given as they are: foldnet predict ${file} ${data}`);
  }
  if (index === undefined && testSet !== undefined) {
    throw new UsageError(`--dataset ${testSet}: chooses the test set --index <i> reads; images are read as the checkpoint's network takes them, whatever the dataset`);
  }
  if (first === undefined && index === undefined) throw new UsageError('give an image (PNG or JPEG), a folder of images or --index <i> (a test image)');
  if (first !== undefined && index !== undefined) throw new UsageError('give images (PNG or JPEG) or --index <i>, not both');
  if (index !== undefined && batchSize !== undefined) throw new UsageError('--batch-size sets how many images go through the network at once: for images and folders, not --index');
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
  const nameOf = (k: number | undefined): string => (classNames === undefined || k === undefined ? '' : ` (${classNames[k] ?? '?'})`);

  if (index !== undefined) {
    // The whole test set (10000 MNIST images: 31 MB as float32), so an index past its end is told by its size.
    const test = loadTestSet(opts, io, undefined, checkpoint, network);
    const count = test.x.shape[0] ?? 0;
    if (index >= count) throw new UsageError(`--index ${index}: the test set has ${count} images${count === 0 ? '' : ` (0-${count - 1})`}`);
    const label = test.targets[index];
    const probs = Array.from(softmax(predict(network, params, layerState, sliceRows(test.x, index, index + 1))).data);
    const predicted = argmaxAt(probs, 0, probs.length);
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
  // read as training read the folder's images (a network trained on an image folder), else drawn as an MNIST digit
  const inputOf = (image: string): ImageInput => {
    if (folderTrained) return { pixels: imageInput(readUserFile(io.cwd, image, 'image', MAX_IMAGE_FILE_BYTES), image, network.inputShape).data };
    const converted = imageToMnist(readUserFile(io.cwd, image, 'image', MAX_PNG_FILE_BYTES), image, mode);
    const fitted = height === 28 && width === 28 ? converted.image : resizeArea(converted.image, width, height);
    return { pixels: fitted.pixels, inverted: converted.inverted };
  };
  const many = files.length > 1 || files[0] !== first;
  if (many && ignored.length > 0) {
    io.err(`note: ignored ${ignored.length} ${ignored.length === 1 ? 'file that is' : 'files that are'} not a .png, .jpg or .jpeg image, e.g. ${ignored[0]}\n`);
  }
  // by a fold, not Math.max(...lengths): a folder of some 100,000 images would overflow the call's arguments
  const fileColumn = files.reduce((widest, f) => Math.max(widest, f.length), 0);
  const classWidth = Math.max(0, ...(classNames ?? []).map((c) => c.length));
  const lineOf = (image: string, probs: readonly number[], inverted: boolean | undefined): string => {
    const predicted = argmaxAt(probs, 0, probs.length);
    const probability = (probs[predicted] ?? 0).toFixed(4);
    if (json) return `${JSON.stringify({ image, predicted, ...(classNames === undefined ? {} : { class: classNames[predicted] }), probabilities: probs, ...(inverted === undefined ? {} : { inverted }) })}\n`;
    if (!many) return `${image}${inverted === true ? ' (inverted: dark ink on a light background)' : ''}\npredicted ${predicted}${nameOf(predicted)} with probability ${probability}\n${formatProbabilities(probs, predicted, classNames)}\n`;
    // one line an image: the file, the class (and its name), the probability
    const name = classNames === undefined ? '' : ` ${(classNames[predicted] ?? '?').padEnd(classWidth)}`;
    return `${image.padEnd(fileColumn)}  ${String(predicted).padStart(2)}${name}  ${probability}${inverted === true ? '  (inverted)' : ''}\n`;
  };

  // Images go through the network `batch` at a time, their lines printed as each batch is done, in the files' order.
  // Evaluation mode makes a batch's rows each what the image alone gives, bit for bit (no statistics over the batch,
  // and the kernels sum each output's terms in one order whatever the batch: test/predict-batch.test.ts), so every
  // line says what predicting its image alone says. A file that cannot be read or decoded ends the command as it
  // always did, after the lines of the images before it (its batch's too).
  const batch = Math.min(files.length, forwardBatch(network, file, batchSize, PREDICT_BATCH, memoryLimit(io.env)));
  const perImage = sizeOf(network.inputShape);
  let pending: (ImageInput & { readonly image: string })[] = [];
  const predictPending = (): void => {
    const taken = pending;
    pending = [];
    if (taken.length === 0) return;
    // float64 pixels (a digit's) rounded to float32 here, as a tensor of them would be
    const x = new Float32Array(taken.length * perImage);
    taken.forEach(({ pixels }, i) => x.set(pixels, i * perImage));
    const probs = Array.from(softmax(predict(network, params, layerState, normalized(fromData([taken.length, ...network.inputShape], x)), { batchSize: taken.length })).data);
    const classes = probs.length / taken.length;
    io.out(taken.map(({ image, inverted }, i) => lineOf(image, probs.slice(i * classes, (i + 1) * classes), inverted)).join(''));
  };
  for (const image of files) {
    let input: ImageInput;
    try {
      input = inputOf(image);
    } catch (e) {
      predictPending();
      throw e;
    }
    pending.push({ image, ...input });
    if (pending.length === batch) predictPending();
  }
  predictPending();
};
