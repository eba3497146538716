import { fromData, key, normal, split, withBackend, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { describe, expect, it } from 'vitest';
import { affine, conv2d, doubleConvNet, flatten, maxPool2d, network, relu, runLayer, simpleConvNet, unwrap, type Network } from '@foldnet/layers';

// A forward run with ctx.needGrad false (evaluation, prediction) skips what only a pullback needs; its
// outputs are those of the ordinary forward, bit for bit, on both kernel sets.

const sameForward = (net: Network, xShape: number[], backend: string): void => {
  const [k1, k2] = split(key(7));
  const { params, state } = net.init(k1);
  const x = normal(k2, xShape);
  withBackend(backend, () => {
    const plain = net.forward(params, state, x, { mode: 'eval', needInputGrad: false });
    const noGrad = net.forward(params, state, x, { mode: 'eval', needInputGrad: false, needGrad: false });
    expect(bitwiseEqual(noGrad.y, plain.y)).toBe(true);
  });
};

describe('forward with needGrad false', () => {
  for (const backend of ['fast', 'reference']) {
    it(`simpleConvNet x=[3,1,28,28] on ${backend}: the same logits as the ordinary eval forward`, () => {
      sameForward(unwrap(simpleConvNet()), [3, 1, 28, 28], backend);
    });
    it(`doubleConvNet x=[2,1,16,16] (conv pad 1) on ${backend}: the same logits as the ordinary eval forward`, () => {
      sameForward(unwrap(doubleConvNet({ inputDim: [1, 16, 16], hiddenSize: 20 })), [2, 1, 16, 16], backend);
    });
  }

  it('maxPool2d size 2 x=[2,3,8,8] with needGrad false: the same output, and its pullback throws naming the layer', () => {
    const layer = maxPool2d({ size: 2, name: 'p1' });
    const x = normal(key(8), [2, 3, 8, 8]);
    const plain = layer.forward({}, {}, x, { mode: 'eval' });
    const r = runLayer(layer, {}, {}, x, { mode: 'eval', needGrad: false });
    expect(bitwiseEqual(r.y, plain.y)).toBe(true);
    expect(() => r.pullback(normal(key(9), [2, 3, 4, 4]))).toThrow(/p1: pullback called on a forward run with needGrad false/);
  });

  it('conv2d x=[2,3,7,7] filters=4 size=3 stride=2 pad=1: the pullback of a needGrad false forward throws, naming the layer', () => {
    const layer = conv2d({ filters: 4, size: 3, stride: 2, pad: 1, name: 'c1' });
    const [k1, k2] = split(key(3));
    const { params, state } = layer.init(k1, [3, 7, 7]);
    const x = normal(k2, [2, 3, 7, 7]);
    const r = runLayer(layer, params, state, x, { mode: 'eval', needGrad: false });
    expect(r.y.shape).toEqual([2, 4, 4, 4]);
    expect(() => r.pullback(normal(k2, [2, 4, 4, 4]))).toThrow(/c1: pullback called on a forward run with needGrad false/);
  });
});

// Object.is per element: tells -0 from +0 and NaN from numbers
const sameValues = (a: Tensor, b: Tensor): boolean =>
  a.shape.join() === b.shape.join() && Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));

describe('relu then maxPool2d in a forward with needGrad false (run as pooling then ReLU)', () => {
  // 2 images x 3 channels x 6 x 6 with NaN, -0, -Infinity, +Infinity, negatives only and ties in some windows
  const specials = [Number.NaN, -0, 0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -1, -1, 2, 2];
  const data = Float32Array.from({ length: 2 * 3 * 6 * 6 }, (_, i) => (i % 5 === 0 ? specials[(i / 5) % specials.length] : Math.sin(i * 1.3) * 3 - (i % 7 === 0 ? 5 : 0)));
  const x = fromData([2, 3, 6, 6], data);

  for (const backend of ['fast', 'reference']) {
    it(`relu - maxPool2d 2x2 - flatten - affine on x=[2,3,6,6] with NaN, -0 and infinities on ${backend}: the same values as relu first`, () => {
      const net = unwrap(network([3, 6, 6], [relu(), maxPool2d({ size: 2 }), flatten(), affine({ units: 4 })]));
      const { params, state } = net.init(key(5));
      withBackend(backend, () => {
        const plain = net.forward(params, state, x, { mode: 'eval', needInputGrad: false });
        const noGrad = net.forward(params, state, x, { mode: 'eval', needInputGrad: false, needGrad: false });
        expect(sameValues(noGrad.y, plain.y)).toBe(true);
      });
    });

    it(`relu - maxPool2d size 3 stride 2 on x=[2,3,6,6] with NaN, -0 and infinities on ${backend}: the pooled values equal relu first`, () => {
      const net = unwrap(network([3, 6, 6], [relu(), maxPool2d({ size: 3, stride: 2 })]));
      withBackend(backend, () => {
        const plain = net.forward({}, {}, x, { mode: 'eval', needInputGrad: false });
        const noGrad = net.forward({}, {}, x, { mode: 'eval', needInputGrad: false, needGrad: false });
        expect(noGrad.y.shape).toEqual([2, 3, 2, 2]);
        expect(sameValues(noGrad.y, plain.y)).toBe(true);
        expect(Array.from(plain.y.data).some((v) => Number.isNaN(v))).toBe(true); // the NaNs really reached the output
      });
    });
  }

  it('the pullback of a network forward with needGrad false throws', () => {
    const net = unwrap(network([3, 6, 6], [relu(), maxPool2d({ size: 2 }), flatten(), affine({ units: 4 })]));
    const { params, state } = net.init(key(5));
    const r = net.forward(params, state, x, { mode: 'eval', needGrad: false });
    expect(() => r.pullback(normal(key(1), [2, 4]))).toThrow(/needGrad false/);
  });
});
