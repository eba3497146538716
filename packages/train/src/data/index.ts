/** Datasets: our own IDX reader (plain and .gz), MNIST / Fashion-MNIST as the book loads them, and datasets by name. */
export { parseIdx, readIdxFile, encodeIdx, DataError, DEFAULT_MAX_IDX_BYTES } from './idx.js';
export type { IdxArray, IdxData, IdxOptions, IdxType } from './idx.js';
export { loadMnist, loadMnistSplit, mnistDataDir, mnistSplitFromBytes, MNIST_FILES } from './mnist.js';
export type { Mnist, MnistOptions, MnistSplit, MnistSplitName, MnistSplitOptions } from './mnist.js';
export type { ImageLayout } from './mnist.js';
export {
  loadDataset, loadDatasetSplit, datasetInfo, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR,
} from './datasets.js';
export type { Dataset, DatasetInfo, DatasetOptions } from './datasets.js';
export { datasetNames, isDatasetName, type DatasetName } from './dataset-names.js';
export {
  randomCrop, randomShift, horizontalFlip, randomErase, composeAugmentations, augmentation, parseAugment, augmentSyntax, cropOffsets, flipsOf, eraseBoxes,
} from './augment.js';
export type { Augmentation, AugmentStep, Box } from './augment.js';
export { resizeArea, normalizeDigit, type GreyImage } from './digit.js';
export { luma, writeImagePlanes } from './image-pixels.js';
export { channelStats, checkChannelStats, normalizeImages } from './normalize.js';
export type { ChannelStats } from './normalize.js';
