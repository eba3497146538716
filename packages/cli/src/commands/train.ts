import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** `foldnet train`: not wired to the libraries yet. */
export const trainCommand = async (_opts: Readonly<Record<string, unknown>>, _io: Io): Promise<void> => {
  throw new UsageError('train: not available yet');
};
