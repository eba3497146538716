import { key, normal, split, withBackend } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { describe, expect, it } from 'vitest';
import { conv2d, doubleConvNet, simpleConvNet, unwrap, type Network } from '@foldnet/layers';

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

  it('conv2d x=[2,3,7,7] filters=4 size=3 stride=2 pad=1: the pullback of a needGrad false forward throws, naming the layer', () => {
    const layer = conv2d({ filters: 4, size: 3, stride: 2, pad: 1, name: 'c1' });
    const [k1, k2] = split(key(3));
    const { params, state } = layer.init(k1, [3, 7, 7]);
    const x = normal(k2, [2, 3, 7, 7]);
    const r = layer.forward(params, state, x, { mode: 'eval', needGrad: false });
    expect(r.y.shape).toEqual([2, 4, 4, 4]);
    expect(() => r.pullback(normal(k2, [2, 4, 4, 4]))).toThrow(/c1: pullback called on a forward run with needGrad false/);
  });
});
