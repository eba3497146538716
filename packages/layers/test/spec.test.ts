import { key, normal, sliceRows, toArray, zeros } from '@foldnet/core';
import { isLeft, isRight, type Either } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  decodeModelSpec,
  MAX_SPEC_DEPTH,
  doubleConvNet,
  encodeModelSpec,
  predict,
  simpleConvNet,
  summary,
  summaryRows,
  unwrap,
  validateParams,
  type Network,
} from '@foldnet/layers';

const leftMessage = <E extends { message: string }, A>(e: Either<E, A>): string => (isLeft(e) ? e.left.message : 'no error');

const lessonSpec = {
  input: [1, 28, 28],
  layers: [
    { type: 'conv2d', filters: 30, size: 5 },
    { type: 'relu' },
    { type: 'maxPool2d', size: 2 },
    { type: 'affine', units: 100 },
    { type: 'relu' },
    { type: 'affine', units: 10 },
  ],
};

describe('JSON model specs', () => {
  it('the lesson SimpleConvNet as JSON decodes to the preset: same names, shapes and spec', () => {
    const r = decodeModelSpec(lessonSpec);
    if (isLeft(r)) throw new Error(r.left.message);
    const preset = unwrap(simpleConvNet());
    expect(r.right.layers.map((l) => l.name)).toEqual(preset.layers.map((l) => l.name));
    expect(r.right.layerShapes).toEqual(preset.layerShapes);
    expect(r.right.spec).toEqual(preset.spec);
  });

  it('encode -> JSON text -> decode gives the same spec for doubleConvNet', () => {
    const net = unwrap(doubleConvNet({ hiddenSize: 50, weightInit: 'he' }));
    const back = decodeModelSpec(JSON.parse(JSON.stringify(encodeModelSpec(net))));
    expect(isRight(back) && back.right.spec).toEqual(net.spec);
  });

  it('layers[3].filters: expected a positive integer, got -2', () => {
    const spec = { input: [1, 28, 28], layers: [{ type: 'relu' }, { type: 'relu' }, { type: 'relu' }, { type: 'conv2d', filters: -2, size: 3 }] };
    expect(leftMessage(decodeModelSpec(spec))).toBe('layers[3].filters: expected a positive integer, got -2');
  });

  it('input[2]: expected a positive integer, got 0', () => {
    expect(leftMessage(decodeModelSpec({ input: [1, 28, 0], layers: [] }))).toBe('input[2]: expected a positive integer, got 0');
  });

  it('an unknown type lists the known ones', () => {
    expect(leftMessage(decodeModelSpec({ input: [4], layers: [{ type: 'conv3d' }] }))).toBe(
      'layers[0].type: expected one of conv2d, maxPool2d, avgPool2d, affine, globalAvgPool2d, relu, sigmoid, tanh, flatten, dropout, batchNorm, sequential, residual, parallel, graph, got "conv3d"',
    );
  });

  it('a missing required field, a misspelt field, a bad weight init, a bad dropout rate', () => {
    expect(leftMessage(decodeModelSpec({ input: [4], layers: [{ type: 'affine' }] }))).toBe('layers[0].units: required by affine, got nothing');
    expect(leftMessage(decodeModelSpec({ input: [1, 8, 8], layers: [{ type: 'conv2d', filters: 2, size: 3, strid: 2 }] }))).toBe(
      'layers[0].strid: unknown field; conv2d takes filters, size, stride, pad, weightInit, bias, name',
    );
    expect(leftMessage(decodeModelSpec({ input: [4], layers: [{ type: 'affine', units: 2, weightInit: 'kaiming' }] }))).toBe(
      `layers[0].weightInit: expected a non-negative number (a std) or one of 'he', 'xavier', 'glorot', got "kaiming"`,
    );
    expect(leftMessage(decodeModelSpec({ input: [4], layers: [{ type: 'dropout', rate: 1 }] }))).toBe('layers[0].rate: expected a number in [0, 1), got 1');
  });

  it('nested sequential errors carry the inner path', () => {
    const spec = { input: [1, 8, 8], layers: [{ type: 'sequential', layers: [{ type: 'relu' }, { type: 'maxPool2d', size: 0 }] }] };
    expect(leftMessage(decodeModelSpec(spec))).toBe('layers[0].layers[1].size: expected a positive integer, got 0');
  });

  it('layers that decode but do not compose give the ShapeError at the layer path', () => {
    const r = decodeModelSpec({ input: [1, 3, 3], layers: [{ type: 'conv2d', filters: 4, size: 5 }] });
    expect(leftMessage(r)).toBe('layers[0]: layer 0 (conv1: conv2d): input [1,3,3], expected spatial size at least 5x5 (filter 5x5, pad 0)');
    expect(isLeft(r) && r.left.shapeError?.layerName).toBe('conv1');
  });

  it('not an object at all', () => {
    expect(leftMessage(decodeModelSpec(42))).toBe('spec: expected an object { input, layers }, got 42');
  });
});

describe('summary', () => {
  it('simpleConvNet: 780 + 432,100 + 0 + 1,010 = 433,890 params', () => {
    const net = unwrap(simpleConvNet());
    expect(summaryRows(net).map((r) => r.params)).toEqual([780, 0, 0, 432100, 0, 1010]);
    const text = summary(net);
    expect(text.split('\n')).toEqual([
      'layer    kind       output shape   params',
      'input               [1,28,28]',
      'conv1    conv2d     [30,24,24]        780',
      'relu1    relu       [30,24,24]          0',
      'pool1    maxPool2d  [30,12,12]          0',
      'affine1  affine     [100]         432,100',
      'relu2    relu       [100]               0',
      'affine2  affine     [10]            1,010',
      'total                             433,890',
    ]);
  });
});

describe('validateParams (loading checkpoints)', () => {
  const net: Network = unwrap(doubleConvNet());
  const { params, state } = net.init(key(0));

  it('params from init are accepted', () => {
    expect(isRight(validateParams(net, params, state))).toBe(true);
  });

  it('a dense layer whose loaded W does not match its input names both shapes and the layer', () => {
    const loaded = unwrap(simpleConvNet({ conv: { filterNum: 20, filterSize: 3, pad: 1 } })).init(key(1)).params;
    const r = validateParams(net, { ...params, 'affine1.W': loaded['affine1.W'] });
    expect(leftMessage(r)).toBe('validateParams: affine1.W has shape [3920,100], expected [720,100] (layer 6 affine1: affine, input [20,6,6])');
    expect(isLeft(r) && r.left).toMatchObject({ name: 'affine1.W', problem: 'shape', expected: [720, 100], actual: [3920, 100] });
  });

  it('a missing tensor and an unexpected one', () => {
    const { ['conv2.b']: _dropped, ...rest } = params;
    expect(leftMessage(validateParams(net, rest))).toBe('validateParams: missing param conv2.b (expected shape [20]) (layer 3 conv2: conv2d, input [10,12,12])');
    expect(leftMessage(validateParams(net, { ...params, 'conv9.W': zeros([1]) }))).toBe('validateParams: unexpected param conv9.W [1]: the network has no such tensor');
  });
});

describe('predict', () => {
  const net = unwrap(simpleConvNet({ inputDim: [1, 10, 10], conv: { filterNum: 3, filterSize: 3 }, hiddenSize: 8, outputSize: 4 }));
  const { params, state } = net.init(key(2));
  const x = normal(key(3), [7, 1, 10, 10]);

  it('x=[7,1,10,10] in batches of 3 gives the same logits [7,4] as one forward in eval mode', () => {
    const logits = predict(net, params, state, x, { batchSize: 3 });
    expect(logits.shape).toEqual([7, 4]);
    expect(toArray(logits)).toEqual(toArray(net.forward(params, state, x, { mode: 'eval' }).y));
  });

  it('with trace: one activation per layer, named, with the declared shapes; the last is the logits', () => {
    const t = predict(net, params, state, sliceRows(x, 0, 2), { trace: true, batchSize: 1 });
    expect(t.activations.map((a) => [a.name, a.y.shape])).toEqual(net.layers.map((l, i) => [l.name, [2, ...net.layerShapes[i]]]));
    expect(toArray(t.logits)).toEqual(toArray(predict(net, params, state, sliceRows(x, 0, 2))));
  });
});

describe('decodeModelSpec refuses specs it could not build', () => {
  it('sequentials nested 5,000 deep: refused before decoding (no stack overflow)', () => {
    let layer: unknown = { type: 'relu' };
    for (let i = 0; i < 5000; i++) layer = { type: 'sequential', layers: [layer] };
    const r = decodeModelSpec({ input: [1, 4, 4], layers: [layer] });
    expect(isLeft(r) && r.left.message).toBe(`spec: nested more than ${MAX_SPEC_DEPTH} levels deep (arrays and objects), more than any model needs`);
  });

  it('input [2^53] and an affine of 2^31 units: per-sample sizes no typed array can hold, named with their path', () => {
    const big = decodeModelSpec({ input: [2 ** 53], layers: [] });
    expect(isLeft(big) && big.left.message).toBe('input: [9007199254740992] holds 9007199254740992 values per sample, more than 2^31 - 1');
    const wide = decodeModelSpec({ input: [1, 4, 4], layers: [{ type: 'flatten' }, { type: 'affine', units: 2 ** 31 }] });
    expect(isLeft(wide) && wide.left.message).toBe('layers[1]: affine1 outputs [2147483648]: 2147483648 values per sample, more than 2^31 - 1');
  });
});
