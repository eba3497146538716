/**
 * The fast kernel set and its thread count.
 *
 * @example
 * import { setThreads, withBackend, matmul } from '@foldnet/core';
 * setThreads(1); withBackend('fast', () => matmul(a, b));
 */
export { fastKernels } from './kernels.js';
export { traceConvPaths, type ConvPath } from './paths.js';
export { setThreads, getThreads, startThreads, threadsReady, threadStats, traceJobs, type ThreadStats, type JobRecord } from './threads.js';
