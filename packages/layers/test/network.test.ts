import { cast, dot, fromData, key, normal, split, toArray, withBackend, type Tensor } from '@foldnet/core';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { affine, lossAndGrad, network, relu, type Network, type Params } from '@foldnet/layers';

const build = (): Network => {
  const r = network([6], [affine(5), relu(), affine(3)]);
  if (isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

// Loss as a function of one param entry moved by h, for central differences.
const lossAt = (net: Network, params: Params, x: Tensor, labels: Int32Array, name: string, i: number, h: number): number => {
  const data = Float64Array.from(params[name].data);
  data[i] += h;
  return lossAndGrad(net, { ...params, [name]: fromData(params[name].shape, data) }, {}, x, labels).loss;
};

describe('network and lossAndGrad', () => {
  it('names layers affine1, relu1, affine2 and params affine1.W [6,5], affine1.b [5], affine2.W [5,3], affine2.b [3]', () => {
    const net = build();
    expect(net.layers.map((l) => l.name)).toEqual(['affine1', 'relu1', 'affine2']);
    expect(net.layerShapes).toEqual([[5], [5], [3]]);
    const { params } = net.init(key(0));
    expect(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]))).toEqual({
      'affine1.W': [6, 5],
      'affine1.b': [5],
      'affine2.W': [5, 3],
      'affine2.b': [3],
    });
  });

  it('affine-relu-affine x=[4,6] float64: every param gradient equals central differences', () => {
    const net = build();
    const [k1, k2] = split(key(7));
    const p32 = net.init(k1, { dtype: 'float64' }).params;
    const params: Params = Object.fromEntries(Object.entries(p32).map(([k, v]) => [k, cast(v, 'float64')]));
    // weights large enough that the relu is active somewhere
    const big: Params = { ...params, 'affine1.W': normal(k2, [6, 5], { dtype: 'float64' }), 'affine2.W': normal(k1, [5, 3], { dtype: 'float64' }) };
    const x = normal(key(3), [4, 6], { dtype: 'float64' });
    const labels = Int32Array.of(0, 2, 1, 2);
    withBackend('reference', () => {
      const { grads } = lossAndGrad(net, big, {}, x, labels);
      for (const name of Object.keys(big)) {
        const g = toArray(grads[name]);
        expect(grads[name].shape).toEqual(big[name].shape);
        g.forEach((gi, i) => {
          const fd = (lossAt(net, big, x, labels, name, i, 1e-6) - lossAt(net, big, x, labels, name, i, -1e-6)) / 2e-6;
          expect(Math.abs(gi - fd)).toBeLessThan(1e-7);
        });
      }
      expect(dot(grads['affine1.W'], grads['affine1.W'])).toBeGreaterThan(0);
    });
  });

  it('a dense layer on a mismatching loaded W names the layer and both sizes', () => {
    const net = build();
    const { params } = net.init(key(0));
    const bad: Params = { ...params, 'affine1.W': normal(key(1), [7, 5]) };
    expect(() => lossAndGrad(net, bad, {}, normal(key(2), [2, 6]), Int32Array.of(0, 1))).toThrow(
      'affine1: input [2,6] has 6 features per sample, W [7,5] expects 7',
    );
  });

  it('two layers named the same are refused', () => {
    const r = network([4], [affine({ units: 3, name: 'fc' }), affine({ units: 2, name: 'fc' })]);
    expect(isRight(r)).toBe(false);
    if (isLeft(r)) expect(r.left.message).toBe("layer 1 (fc: affine): input [4], expected a unique layer name, 'fc' is used twice");
  });
});
