/**
 * @foldnet/core: immutable tensors, shapes, a pure PRNG, convolution geometry, im2col/col2im and
 * the kernel sets behind one contract.
 *
 * @example
 * import { fromNested, matmul } from '@foldnet/core';
 * matmul(fromNested([[1, 2]]), fromNested([[3], [4]])); // [[11]]
 */
export * from './errors.js';
export * from './dtype.js';
export * from './shape.js';
export * from './tensor.js';
export * from './geometry.js';
export * from './prng.js';
export * from './ops.js';
export * from './conv.js';
export * from './graph/op.js';
export type { Kernels, FusedKernels, MaxPoolResult, Conv2dResult, Conv2dGrads, ConvReluPoolResult, AdamStep, AdamItem, AdamResult, BatchNormStats, BatchNormResult, BatchNormGrads, BatchNormAddReluGrads } from './kernels/contract.js';
export { composedFusions, fusedKernelsOf } from './kernels/composed.js';
export { referenceKernels } from './kernels/reference.js';
export { kernels, setBackend, withBackend, registerKernels, backendNames } from './kernels/registry.js';
export { resultScope } from './fast/scope.js';
export { fastKernels, setThreads, getThreads, startThreads, threadsReady, threadStats, traceConvPaths, traceJobs, type ConvPath, type ThreadStats, type JobRecord } from './fast/index.js';

// The fast set registers itself as 'fast', which makes it the default backend (see registry.ts).
import { fastKernels as fastKernelSet } from './fast/index.js';
import { registerKernels as registerKernelSet } from './kernels/registry.js';
registerKernelSet(fastKernelSet);
