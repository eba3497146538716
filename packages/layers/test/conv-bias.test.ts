import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fastKernels, key, normal, referenceKernels, toArray, zeros, type Kernels } from '@foldnet/core';
import { conv2d, decodeModelSpec, encodeModelSpec, lossAndGrad, maxPool2d, network, relu, unwrap, affine } from '@foldnet/layers';
import { gradientProperty } from '@foldnet/layers/testing';

/*
 * A convolution without bias (`bias: false`, PyTorch's `Conv2d(..., bias=False)` before a batch norm): params W
 * alone, the values of a convolution whose bias is zero, gradients for W alone, in specs and on both kernel sets
 * (the fast set's fused conv-ReLU-pool too).
 */

const x = normal(key(5), [2, 2, 6, 6], { std: 1 });
const labels = Int32Array.of(1, 0);

describe('conv2d bias: false', () => {
  it('params W [3,2,3,3] alone; the spec says bias false, and a conv with bias keeps its old spec (no bias key)', () => {
    const c = unwrap(network([2, 6, 6], [conv2d({ filters: 3, size: 3, pad: 1, bias: false, name: 'c' })]));
    expect(Object.keys(c.init(key(0)).params)).toEqual(['c.W']);
    expect(c.spec.layers[0]).toMatchObject({ type: 'conv2d', bias: false });
    const withBias = unwrap(network([2, 6, 6], [conv2d({ filters: 3, size: 3, pad: 1, name: 'c' })]));
    expect(Object.keys(withBias.spec.layers[0] ?? {})).not.toContain('bias');
  });

  for (const [backend, k] of [['reference', referenceKernels], ['fast', fastKernels]] as [string, Kernels][]) {
    it(`${backend} kernels: the output and W's gradient are those of the same conv with b = 0, bit for bit (conv-relu-pool-affine, fused on fast)`, () => {
      const layers = (bias: boolean) => [conv2d({ filters: 3, size: 3, pad: 1, bias, weightInit: 'he', name: 'c' }), relu(), maxPool2d({ size: 2 }), affine({ units: 2, weightInit: 'he', name: 'a' })];
      const without = unwrap(network([2, 6, 6], layers(false)));
      const withZero = unwrap(network([2, 6, 6], layers(true)));
      const p = withZero.init(key(1)).params;
      const zeroBias = { ...p, 'c.b': zeros([3]) };
      const { 'c.b': _b, ...noBias } = zeroBias;
      const a = lossAndGrad(without, noBias, {}, x, labels, { mode: 'train', kernels: k });
      const b = lossAndGrad(withZero, zeroBias, {}, x, labels, { mode: 'train', kernels: k });
      expect(toArray(a.logits)).toEqual(toArray(b.logits));
      expect(Object.keys(a.grads).sort()).toEqual(['a.W', 'a.b', 'c.W']);
      expect(toArray(a.grads['c.W'])).toEqual(toArray(b.grads['c.W']));
    });
  }

  it('gradients against finite differences (float64, fast-check shapes)', () => {
    fc.assert(gradientProperty(conv2d({ filters: 3, size: 3, pad: 1, stride: 2, bias: false, weightInit: 'he' }), [2, 5, 5]), { seed: 42, numRuns: 10 });
  });

  it('model specs: bias false decodes and encodes back; a bias that is not a boolean is refused with its path', () => {
    const spec = { input: [1, 8, 8], layers: [{ type: 'conv2d', filters: 2, size: 3, bias: false }] };
    const r = decodeModelSpec(spec);
    if (isLeft(r)) throw new Error(r.left.message);
    expect(Object.keys(r.right.init(key(0)).params)).toEqual(['conv1.W']);
    expect(encodeModelSpec(r.right).layers[0]).toMatchObject({ bias: false });
    const bad = decodeModelSpec({ input: [1, 8, 8], layers: [{ type: 'conv2d', filters: 2, size: 3, bias: 'no' }] });
    expect(isLeft(bad) && bad.left.message).toBe('layers[0].bias: expected boolean, got "no"');
    expect(() => conv2d({ filters: 2, size: 3, bias: JSON.parse('"no"') })).toThrow('conv2d: bias must be true or false, got no');
  });
});
