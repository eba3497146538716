/*
 * `@foldnet/train/config`: what config files and flags need to check a dataset's name and an
 * augmentation recipe, without loading the library (the CLI answers --help and bad flags fast).
 * The same names and parser the library itself uses.
 */
export { datasetNames, isDatasetName, type DatasetName } from './dataset-names.js';
export { parseAugment, augmentSyntax, type AugmentStep } from './augment.js';
