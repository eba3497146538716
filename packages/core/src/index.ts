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
export type { Kernels, MaxPoolResult, Conv2dResult, Conv2dGrads } from './kernels/contract.js';
export { referenceKernels } from './kernels/reference.js';
export { kernels, setBackend, withBackend, registerKernels, backendNames } from './kernels/registry.js';
