import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** `foldnet gradcheck`: not wired to the libraries yet. */
export const gradcheckCommand = async (..._args: readonly [...unknown[], Io]): Promise<void> => {
  throw new UsageError('gradcheck: not available yet');
};
