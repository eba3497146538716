import { key, maxAbsDiff, normal, split, withBackend } from '@foldnet/core';
import { describe, expect, it } from 'vitest';
import { batchNorm, conv2d, doubleConvNet, flatten, lossAndGrad, avgPool2d, network, relu, affine, unwrap, type Network } from '@foldnet/layers';

// Layers do not care which kernel set runs: the same float32 step on 'fast' and 'reference'
// agrees to float32 rounding (1e-4 of each tensor's largest value, or 1e-7 absolute for tensors
// whose gradient is zero up to rounding, like a conv bias before batch norm).
const agree = (net: Network, xShape: number[], labels: Int32Array) => {
  const [k1, k2] = split(key(21));
  const { params, state } = net.init(k1, { dtype: 'float32' });
  const x = normal(k2, xShape);
  const ctx = { mode: 'train', key: key(4) } as const;
  const ref = withBackend('reference', () => lossAndGrad(net, params, state, x, labels, ctx));
  const fast = withBackend('fast', () => lossAndGrad(net, params, state, x, labels, ctx));
  expect(Math.abs(fast.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
  for (const [name, g] of Object.entries(ref.grads)) {
    const scale = Math.max(...Array.from(g.data, Math.abs), 1e-3);
    expect(maxAbsDiff(fast.grads[name], g) / scale, name).toBeLessThan(1e-4);
  }
};

describe('fast and reference kernels give the same training step', () => {
  it('doubleConvNet on x=[5,1,16,16] (conv pad 1, max pooling, dense)', () => {
    const net = unwrap(doubleConvNet({ inputDim: [1, 16, 16], hiddenSize: 20, weightInit: 'he' }));
    agree(net, [5, 1, 16, 16], Int32Array.of(0, 1, 2, 3, 4));
  });
  it('conv stride 2 pad 2 - batchNorm - relu - avgPool 3 pad 1 - flatten - affine on x=[4,3,11,11]', () => {
    const net = unwrap(
      network([3, 11, 11], [conv2d({ filters: 5, size: 3, stride: 2, pad: 2, weightInit: 'he' }), batchNorm(), relu(), avgPool2d({ size: 3, stride: 2, pad: 1 }), flatten(), affine({ units: 4, weightInit: 'he' })]),
    );
    agree(net, [4, 3, 11, 11], Int32Array.of(3, 2, 1, 0));
  });
});
