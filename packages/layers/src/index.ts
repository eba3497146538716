/**
 * @foldnet/layers: layers as pure values, networks as composed pipelines, gradient checking.
 *
 * @example
 * import { network, conv2d, relu, maxPool2d, affine, lossAndGrad } from '@foldnet/layers';
 */
export * from './types.js';
export * from './init.js';
export { affine, sumRows, type AffineOptions } from './affine.js';
export { relu, sigmoid, tanh, type NamedOptions } from './activations.js';
export { softmax, softmaxCrossEntropy, type LossResult } from './loss.js';
export { network, sequential, lossAndGrad, namePrefix, type LossAndGrad } from './network.js';
