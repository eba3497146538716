import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** `foldnet summary`: not wired to the libraries yet. */
export const summaryCommand = async (..._args: readonly [...unknown[], Io]): Promise<void> => {
  throw new UsageError('summary: not available yet');
};
