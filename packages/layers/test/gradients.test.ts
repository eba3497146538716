import { key } from '@foldnet/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGradients, deepConvNet, formatGradCheckReport, unwrap } from '@foldnet/layers';
import {
  arbAffineCase,
  arbBatchNormCase,
  arbConv2dCase,
  arbDoubleConvNetCase,
  arbDropoutCase,
  arbElementwiseCase,
  arbLayerCase,
  arbNetworkCase,
  arbPoolCase,
  arbSimpleConvNetCase,
  gradientProperty,
  purityProperty,
  shapeProperty,
} from '@foldnet/layers/testing';

// Every property: float64 central differences (h = 1e-6, reference kernels) against the pullback,
// per element on up to 64 entries per tensor plus one random direction <J v, u> vs <v, Jᵀ u>,
// in train and eval mode, relative tolerance 1e-5.
describe('gradients agree with central differences (float64)', () => {
  it('conv2d over generated C, H, W, filters, size 1-3, stride 1-2, pad 0-2', () => {
    fc.assert(gradientProperty(arbConv2dCase()), { seed: 42, numRuns: 40 });
  });
  it('maxPool2d over generated size, stride, pad, on inputs without ties', () => {
    fc.assert(gradientProperty(arbPoolCase('maxPool2d')), { seed: 42, numRuns: 40 });
  });
  it('avgPool2d over generated size, stride, pad (padding counted as zeros)', () => {
    fc.assert(gradientProperty(arbPoolCase('avgPool2d')), { seed: 42, numRuns: 40 });
  });
  it('affine on [D] and [C,H,W] samples, every weight init', () => {
    fc.assert(gradientProperty(arbAffineCase()), { seed: 42, numRuns: 30 });
  });
  it('relu (inputs away from 0), sigmoid, tanh, flatten', () => {
    fc.assert(gradientProperty(arbElementwiseCase()), { seed: 42, numRuns: 40 });
  });
  it('dropout rate 0-0.9 with a fixed mask', () => {
    fc.assert(gradientProperty(arbDropoutCase()), { seed: 42, numRuns: 20 });
  });
  it('batchNorm on [N,D] and [N,C,H,W], train (batch statistics) and eval (running statistics)', () => {
    fc.assert(gradientProperty(arbBatchNormCase()), { seed: 42, numRuns: 30 });
  });
  it('simpleConvNet with generated input size, conv, hidden and output sizes', () => {
    fc.assert(gradientProperty(arbSimpleConvNetCase(), undefined, { maxElements: 16 }), { seed: 42, numRuns: 10 });
  });
  it('doubleConvNet with generated input size, convs and hidden size', () => {
    fc.assert(gradientProperty(arbDoubleConvNetCase(), undefined, { maxElements: 12 }), { seed: 42, numRuns: 6 });
  });
  it('random networks: conv, pooling, activations, batch norm, dropout, nested sequential, dense heads', () => {
    fc.assert(gradientProperty(arbNetworkCase(), undefined, { maxElements: 8 }), { seed: 42, numRuns: 25 });
  });
  it('deepConvNet shrunk to input [1,8,8], 2-4 filters, hidden 4, in train mode (dropout masks fixed)', () => {
    const net = unwrap(deepConvNet({ inputDim: [1, 8, 8], convs: [2, 2, 3, 3, 4, 4].map((filterNum) => ({ filterNum })), hiddenSize: 4, outputSize: 3 }));
    const report = checkGradients(net, [1, 8, 8], { key: key(5), maxElements: 8, mode: 'train' });
    expect(report.ok, formatGradCheckReport(report)).toBe(true);
    expect(report.entries.map((e) => e.name)).toContain('conv6.W');
  });
});

describe('shapes and purity over every layer kind', () => {
  it('the per-sample shape outputShape declares is the shape forward returns', () => {
    fc.assert(shapeProperty(arbLayerCase()), { seed: 42, numRuns: 150 });
  });
  it('forward and backward (applied twice) leave input, params, state and dy bitwise unchanged', () => {
    fc.assert(purityProperty(arbLayerCase()), { seed: 42, numRuns: 150 });
  });
  it('presets: declared output shape = forward shape, and purity', () => {
    fc.assert(shapeProperty(arbSimpleConvNetCase()), { seed: 7, numRuns: 10 });
    fc.assert(purityProperty(arbDoubleConvNetCase()), { seed: 7, numRuns: 5 });
    fc.assert(shapeProperty(arbNetworkCase()), { seed: 7, numRuns: 30 });
    fc.assert(purityProperty(arbNetworkCase()), { seed: 7, numRuns: 30 });
  });
});
