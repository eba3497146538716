/** @foldnet/train: optimizers, the training fold, batching, metrics, MNIST (IDX), checkpoints, reading user files. */
export * from './optim/index.js';
export * from './fit/index.js';
export * from './data/index.js';
export * from './checkpoint/index.js';
export * from './export/index.js';
export * from './input/index.js';
