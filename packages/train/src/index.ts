/** @foldnet/train: optimizers, the training fold, batching, metrics, MNIST (IDX), image folders, checkpoints, reading user files. */
export * from './common.js';
// Node only: image files and folders (data/images.ts)
export * from './data/images.js';
