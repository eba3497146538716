import { FoldnetError } from '../errors.js';
import type { Kernels } from './contract.js';
import { referenceKernels } from './reference.js';

/*
 * Which kernel set runs. The choice is global configuration (like a BLAS library choice), read
 * from FOLDNET_BACKEND at start-up, changed with `setBackend`, scoped with `withBackend`, and
 * overridable per call where an operation takes a `kernels` argument.
 */

const registry = new Map<string, Kernels>([['reference', referenceKernels]]);
let current: string | undefined;

/** Makes a kernel set selectable by its name. */
export const registerKernels = (k: Kernels): void => {
  registry.set(k.name, k);
};

/** Names of the registered kernel sets. */
export const backendNames = (): string[] => [...registry.keys()];

const lookup = (name: string): Kernels => {
  const k = registry.get(name);
  if (!k) throw new FoldnetError('value', `backend '${name}' is unknown; known backends: ${backendNames().join(', ')}`);
  return k;
};

const defaultName = (): string => {
  const env = typeof process !== 'undefined' ? process.env.FOLDNET_BACKEND : undefined;
  if (env) return env;
  return registry.has('fast') ? 'fast' : 'reference';
};

/**
 * The kernel set in use (or the named one).
 *
 * @example kernels().name // 'fast' unless FOLDNET_BACKEND says otherwise
 */
export const kernels = (name?: string): Kernels => lookup(name ?? current ?? defaultName());

/** Selects the kernel set every later operation uses. @example setBackend('reference') */
export const setBackend = (name: string): void => {
  lookup(name);
  current = name;
};

/** Runs `f` with a kernel set selected, restoring the previous choice afterwards. */
export const withBackend = <T>(name: string, f: () => T): T => {
  lookup(name);
  const previous = current;
  current = name;
  try {
    return f();
  } finally {
    current = previous;
  }
};
