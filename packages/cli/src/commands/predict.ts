import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** `foldnet predict`: not wired to the libraries yet. */
export const predictCommand = async (..._args: readonly [...unknown[], Io]): Promise<void> => {
  throw new UsageError('predict: not available yet');
};
