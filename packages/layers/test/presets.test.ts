import { readFileSync } from 'node:fs';
import { key, normal, split, withBackend } from '@foldnet/core';
import { isLeft } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  checkGradients, decodeModelSpec, deepConvNet, doubleConvNet, formatGradCheckReport, lossAndGrad, resnet, simpleConvNet, summaryRows, unwrap,
} from '@foldnet/layers';

const shapesOf = (r: Record<string, { shape: readonly number[] }>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.shape]));

describe('presets', () => {
  it('simpleConvNet defaults: conv1 30x5x5 on [1,28,28] -> [30,24,24] -> pool [30,12,12] -> affine1 [4320,100] -> affine2 [100,10]', () => {
    const net = unwrap(simpleConvNet());
    expect(net.layers.map((l) => l.name)).toEqual(['conv1', 'relu1', 'pool1', 'affine1', 'relu2', 'affine2']);
    expect(net.layerShapes).toEqual([[30, 24, 24], [30, 24, 24], [30, 12, 12], [100], [100], [10]]);
    expect(shapesOf(net.init(key(0)).params)).toEqual({
      'conv1.W': [30, 1, 5, 5],
      'conv1.b': [30],
      'affine1.W': [4320, 100],
      'affine1.b': [100],
      'affine2.W': [100, 10],
      'affine2.b': [10],
    });
  });

  it('simpleConvNet overrides: input [3,16,16], conv 8x3x3 pad 1 stride 2, hidden 20, output 5', () => {
    const net = unwrap(simpleConvNet({ inputDim: [3, 16, 16], conv: { filterNum: 8, filterSize: 3, pad: 1, stride: 2 }, hiddenSize: 20, outputSize: 5 }));
    expect(net.layerShapes).toEqual([[8, 8, 8], [8, 8, 8], [8, 4, 4], [20], [20], [5]]);
  });

  it('simpleConvNet weightInit 0.01 gives weights of std about 0.01 (conv1.W of 750 values)', () => {
    const w = unwrap(simpleConvNet()).init(key(3)).params['conv1.W'];
    const std = Math.sqrt(Array.from(w.data).reduce((s, v) => s + v * v, 0) / w.size);
    expect(std).toBeGreaterThan(0.009);
    expect(std).toBeLessThan(0.011);
  });

  it('doubleConvNet defaults: 28 -> 24 -> 12 -> 12 -> 6, affine1.W [720,100]', () => {
    const net = unwrap(doubleConvNet());
    expect(net.layers.map((l) => l.name)).toEqual(['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'affine1', 'relu3', 'affine2']);
    expect(net.layerShapes.map((s) => s.join('x'))).toEqual(['10x24x24', '10x24x24', '10x12x12', '20x12x12', '20x12x12', '20x6x6', '100', '100', '10']);
    expect(net.init(key(0)).params['affine1.W'].shape).toEqual([720, 100]);
  });

  it('deepConvNet: six convs, three pools, affine1.W [1024,50], He std sqrt(2/9) for conv1.W', () => {
    const net = unwrap(deepConvNet());
    expect(net.layers.map((l) => l.kind)).toEqual([
      'conv2d', 'relu', 'conv2d', 'relu', 'maxPool2d',
      'conv2d', 'relu', 'conv2d', 'relu', 'maxPool2d',
      'conv2d', 'relu', 'conv2d', 'relu', 'maxPool2d',
      'affine', 'relu', 'dropout', 'affine', 'dropout',
    ]);
    const { params } = net.init(key(0));
    expect(params['affine1.W'].shape).toEqual([1024, 50]);
    expect(params['conv6.W'].shape).toEqual([64, 64, 3, 3]);
    expect(net.spec.layers[0]).toMatchObject({ type: 'conv2d', name: 'conv1', filters: 16, size: 3, pad: 1, weightInit: 'he' });
  });

  it('simpleConvNet with a 5x5 conv on a [1,3,3] input is refused, naming conv1 and the sizes', () => {
    const r = simpleConvNet({ inputDim: [1, 3, 3] });
    expect(isLeft(r) && r.left.message).toBe('layer 0 (conv1: conv2d): input [1,3,3], expected spatial size at least 5x5 (filter 5x5, pad 0)');
  });

  it('simpleConvNet lossAndGrad on a batch [4,1,28,28]: finite loss near log(10), grads for every param', () => {
    const net = unwrap(simpleConvNet());
    const [k1, k2] = split(key(11));
    const { params, state } = net.init(k1);
    const r = lossAndGrad(net, params, state, normal(k2, [4, 1, 28, 28]), Int32Array.of(1, 2, 3, 4));
    expect(Math.abs(r.loss - Math.log(10))).toBeLessThan(0.05);
    expect(shapesOf(r.grads)).toEqual(shapesOf(params));
    expect(r.logits.shape).toEqual([4, 10]);
  });
});

describe('resnet preset', () => {
  const paramCount = (net: ReturnType<typeof unwrap>) => summaryRows(net).reduce((a, r) => a + (r.depth === 0 ? r.params : 0), 0);

  it('resnet({ convBias: true }): stem 16, stages 16/32/64 of two blocks, 28 -> 14 -> 7, global average pool, affine 10: the layout of examples/resnet.json (175,530 params)', () => {
    const net = unwrap(resnet({ convBias: true }));
    expect(net.layers.map((l) => l.kind)).toEqual([
      'conv2d', 'batchNorm', 'relu',
      'residual', 'relu', 'residual', 'relu',
      'residual', 'relu', 'residual', 'relu',
      'residual', 'relu', 'residual', 'relu',
      'globalAvgPool2d', 'affine',
    ]);
    expect(net.layerShapes.map((s) => s.join('x'))).toEqual([
      '16x28x28', '16x28x28', '16x28x28',
      '16x28x28', '16x28x28', '16x28x28', '16x28x28',
      '32x14x14', '32x14x14', '32x14x14', '32x14x14',
      '64x7x7', '64x7x7', '64x7x7', '64x7x7',
      '64', '10',
    ]);
    expect(paramCount(net)).toBe(175_530);
    const example = decodeModelSpec(JSON.parse(readFileSync(new URL('../../../examples/resnet.json', import.meta.url), 'utf8')));
    if (isLeft(example)) throw new Error(example.left.message);
    const shapes = (n: ReturnType<typeof unwrap>) => shapesOf(n.init(key(0)).params);
    expect(shapes(net)).toEqual(shapes(example.right));
  });

  it('resnet() defaults: the same layout with no conv bias (batch norm follows each), as PyTorch: 175,530 - 560 = 174,970 params', () => {
    const net = unwrap(resnet());
    expect(paramCount(net)).toBe(174_970);
    const names = Object.keys(net.init(key(0)).params);
    expect(names.filter((n) => /conv\d\.b$/.test(n))).toEqual([]);
    expect(names.filter((n) => n.endsWith('.W')).length).toBe(1 + 6 * 2 + 2 + 1);
    expect(JSON.stringify(net.spec).match(/"bias":false/g)?.length).toBe(1 + 6 * 2 + 2);
  });

  it('resnet(): projection shortcuts (conv 1x1 stride 2 + batch norm) open stages 2 and 3 only; every convolution and the affine are He-initialised', () => {
    const net = unwrap(resnet());
    const names = Object.keys(net.init(key(0)).params);
    expect(names.filter((n) => n.includes('shortcut') && n.endsWith('.W'))).toEqual(['res3.shortcut.conv1.W', 'res5.shortcut.conv1.W']);
    expect(net.init(key(0)).params['res3.shortcut.conv1.W'].shape).toEqual([32, 16, 1, 1]);
    const convs = JSON.stringify(net.spec).match(/"weightInit":"[^"]+"/g) ?? [];
    expect(convs.length).toBe(1 + 6 * 2 + 2 + 1);
    expect(new Set(convs)).toEqual(new Set(['"weightInit":"he"']));
    // He: std sqrt(2 / fan in); conv1.W has fan in 9
    const w = net.init(key(3)).params['conv1.W'];
    const std = Math.sqrt(Array.from(w.data).reduce((a, v) => a + v * v, 0) / w.size);
    expect(std).toBeGreaterThan(Math.sqrt(2 / 9) * 0.85);
    expect(std).toBeLessThan(Math.sqrt(2 / 9) * 1.15);
  });

  it('resnet({ blocks: [1, 3], width: 8, inputDim: [3, 32, 32], outputSize: 5 }): two stages of 8 and 16 channels, 32 -> 16', () => {
    const net = unwrap(resnet({ blocks: [1, 3], width: 8, inputDim: [3, 32, 32], outputSize: 5 }));
    expect(net.layers.filter((l) => l.kind === 'residual').length).toBe(4);
    expect(net.layerShapes.at(-3)).toEqual([16, 16, 16]);
    expect(net.outputShape).toEqual([5]);
    expect(net.init(key(0)).params['conv1.W'].shape).toEqual([8, 3, 3, 3]);
  });

  it('resnet with blocks [] or [2, 0], or width 0, is refused naming the option', () => {
    expect(() => resnet({ blocks: [] })).toThrow('resnet: blocks must be a non-empty list of positive integers, got []');
    expect(() => resnet({ blocks: [2, 0] })).toThrow('resnet: blocks must be a non-empty list of positive integers, got [2,0]');
    expect(() => resnet({ width: 0 })).toThrow('resnet: width must be a positive integer, got 0');
  });

  it('resnet lossAndGrad on a batch [2,1,28,28]: finite loss, a gradient for every param', () => {
    const net = unwrap(resnet());
    const [k1, k2] = split(key(12));
    const { params, state } = net.init(k1);
    const r = lossAndGrad(net, params, state, normal(k2, [2, 1, 28, 28]), Int32Array.of(3, 7));
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(shapesOf(r.grads)).toEqual(shapesOf(params));
  });

  it('gradcheck of a small resnet({ blocks: [1, 1], width: 2, inputDim: [1, 8, 8] }) in float64: every param and the input, along a direction and per element', () => {
    const net = unwrap(resnet({ blocks: [1, 1], width: 2, inputDim: [1, 8, 8], outputSize: 3 }));
    const report = withBackend('reference', () => checkGradients(net, [1, 8, 8], { key: key(5), batch: 3, maxElements: 8, jitter: 0.05 }));
    expect(report.ok, formatGradCheckReport(report)).toBe(true);
    expect(report.entries.map((e) => e.name)).toContain('res2.shortcut.conv1.W');
  });
});
