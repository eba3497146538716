/**
 * @foldnet/layers: layers as pure values, networks as composed pipelines, gradient checking.
 *
 * @example
 * import { simpleConvNet, unwrap, lossAndGrad } from '@foldnet/layers';
 * const net = unwrap(simpleConvNet());
 * const { params, state } = net.init(key(0));
 * const { loss, grads } = lossAndGrad(net, params, state, xBatch, labels);
 */
export * from './types.js';
export * from './init.js';
export { affine, sumRows, type AffineOptions } from './affine.js';
export { relu, sigmoid, tanh, type NamedOptions } from './activations.js';
export { conv2d, type Conv2dOptions } from './conv.js';
export { maxPool2d, avgPool2d, globalAvgPool2d, type Pool2dOptions } from './pool.js';
export { flatten } from './flatten.js';
export { dropout, type DropoutOptions } from './dropout.js';
export { batchNorm, type BatchNormOptions } from './batchnorm.js';
export { softmax, softmaxCrossEntropy, type LossResult } from './loss.js';
export { crossEntropy, meanSquaredError, binaryCrossEntropyWithLogits, defaultLoss, parseLoss, lossSyntax, type Loss, type CrossEntropyOptions } from './losses.js';
export { network, lossAndGrad, type LossAndGrad } from './network.js';
export { namePrefix } from './naming.js';
export { sequential, residual, parallel, graph, graphOf, type ResidualOptions, type ParallelOptions, type GraphValue, type GraphOps, type GraphEntry, type GraphDefinition } from './combinators.js';
export { GRAPH_INPUT, opOf, type Graph, type GraphNode, type LayerBody, type GraphBuilder, type GraphIssue, type Site, type InitStep } from './graph/build.js';
export { planOf, runGraph, runLayer, initGraph, scope, type Plan } from './graph/run.js';
export { fusedRunAt, foldedBatchNormAt, reluAfterAdd, residualEndAt, type FoldedBatchNorm, type FusedRun, type FusedForward, type ResidualEnd } from './graph/fusion.js';
export {
  simpleConvNet,
  doubleConvNet,
  deepConvNet,
  resnet,
  unwrap,
  type ConvParam,
  type SimpleConvNetOptions,
  type DoubleConvNetOptions,
  type DeepConvNetOptions,
  type ResNetOptions,
} from './presets.js';
export { defineLayer, defineOp, renameLayer, type ExecContext, type OpRun, type OpLayerDefinition } from './layer.js';
export { checkGradients, formatGradCheckReport, type GradCheckOptions, type GradCheckEntry, type GradCheckReport } from './gradcheck.js';
export { predict, type PredictOptions, type Trace, type Activation } from './predict.js';
export { summary, summaryRows, type SummaryRow } from './summary.js';
export { memoryNeeds, type MemoryNeeds, type MemoryUse } from './memory.js';
export { validateParams, type ParamError } from './validate.js';
export {
  decodeModelSpec, encodeModelSpec, layerTypes, codecs, MAX_SPEC_DEPTH, registerLayer, registeredLayer,
  type SpecError, type Fields, type LayerRegistration, type OnnxMapping, type OnnxLayerContext, type OnnxNodeSpec, type OnnxAttribute,
} from './spec.js';
