import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** What `--backend` accepts for bench: one kernel set, or both side by side. */
export const benchBackendChoices = ['fast', 'reference', 'both'] as const;

/** `foldnet bench`: not wired to the libraries yet. */
export const benchCommand = async (_opts: Readonly<Record<string, unknown>>, _io: Io): Promise<void> => {
  throw new UsageError('bench: not available yet');
};
