/** Datasets: our own IDX reader (plain and .gz) and MNIST / Fashion-MNIST as the book loads them. */
export { parseIdx, readIdxFile, encodeIdx, DataError, DEFAULT_MAX_IDX_BYTES } from './idx.js';
export type { IdxArray, IdxData, IdxOptions, IdxType } from './idx.js';
export { loadMnist, loadMnistSplit, mnistDataDir, MNIST_FILES } from './mnist.js';
export type { Mnist, MnistOptions, MnistSplit, MnistSplitName, MnistSplitOptions } from './mnist.js';
