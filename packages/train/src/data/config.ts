/*
 * `@foldnet/train/config`: what config files and flags need to check a dataset's name, an
 * augmentation recipe and a learning-rate schedule, without loading the library (the CLI answers --help and bad flags fast).
 * The same names and parser the library itself uses.
 */
export { datasetNames, isDatasetName, type DatasetName } from './dataset-names.js';
export { parseAugment, augmentSyntax, type AugmentStep } from './augment.js';
export { parseLrSchedule, lrScheduleOver, lrScheduleSyntax, type LrScheduleSpec } from '../optim/schedule-text.js';
