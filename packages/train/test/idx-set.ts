import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MNIST_FILES } from '@foldnet/train';

/**
 * Writes a dataset's four IDX files under their standard names into `dir` (made if missing), each
 * gzipped (as `<name>.gz`) where `gz` says so. The tests of the MNIST and dataset loaders build
 * their files with `encodeIdx` and write them with this.
 *
 * @example writeIdxSet(dir, { trainImages, trainLabels, testImages, testLabels }, () => true)
 */
export const writeIdxSet = (dir: string, files: Readonly<Record<keyof typeof MNIST_FILES, Uint8Array>>, gz: (name: string) => boolean = () => false): void => {
  mkdirSync(dir, { recursive: true });
  for (const role of ['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const) {
    const name = MNIST_FILES[role];
    const bytes = files[role];
    if (gz(name)) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  }
};
