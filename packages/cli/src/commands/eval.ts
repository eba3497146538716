import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** `foldnet eval`: not wired to the libraries yet. */
export const evalCommand = async (..._args: readonly [...unknown[], Io]): Promise<void> => {
  throw new UsageError('eval: not available yet');
};
