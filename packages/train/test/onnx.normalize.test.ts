import { describe, expect, it } from 'vitest';
import { key, uniform } from '@foldnet/core';
import { conv2d, flatten, affine, relu, network, unwrap } from '@foldnet/layers';
import { exportOnnx, normalizeImages } from '@foldnet/train';
import { exported, maxAbsDiff, runOrt } from './onnx-check.js';

/*
 * ONNX export with the input normalisation a network was trained with: the graph starts with Sub and
 * Div per channel, so ONNX Runtime given raw [0, 1] images computes what foldnet computes on the
 * normalised ones.
 */

describe('exportOnnx: normalize', () => {
  const net = unwrap(network([3, 8, 8], [conv2d({ filters: 4, size: 3, pad: 1, weightInit: 'he' }), relu(), flatten(), affine({ units: 3, weightInit: 'he' })]));
  const { params, state } = net.init(key(19));
  const stats = { mean: [0.25, 0.5, 0.75], std: [0.1, 0.2, 0.4] };
  const raw = uniform(key(20), [5, 3, 8, 8]);

  it('Sub(input.mean) and Div(input.std) before the first layer: ONNX Runtime on raw images equals foldnet on normalised ones', async () => {
    const ours = net.forward(params, state, normalizeImages(raw, stats), { mode: 'eval' }).y;
    const theirs = await runOrt(exported(net, params, state, { normalize: stats }), raw);
    expect(theirs.dims).toEqual([5, 3]);
    expect(maxAbsDiff(theirs.data, ours.data)).toBeLessThan(1e-5);
    // without the nodes the outputs differ: the test can fail
    const plain = await runOrt(exported(net, params, state), raw);
    expect(maxAbsDiff(plain.data, ours.data)).toBeGreaterThan(1e-2);
  });

  it('statistics whose count is not the input channels are refused', () => {
    const r = exportOnnx(net, params, state, { normalize: { mean: [0.5], std: [0.2] } });
    expect(r._tag === 'Left' ? r.left.message : '').toBe('exportOnnx: normalize has 1 means and 1 stds, the input [3,8,8] has 3 channels');
  });
});
