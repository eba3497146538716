import { cast, dot, fromData, key, normal, ones, split, tensor, toArray, withBackend, type Tensor } from '@foldnet/core';
import { isLeft, isRight, right } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { affine, batchNorm, conv2d, defineLayer, dropout, flatten, lossAndGrad, network, relu, unwrap, type Layer, type Network, type Params } from '@foldnet/layers';

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

  it('a custom kind ending in a digit is numbered after a separator: conv1x1_1, conv1x1_2', () => {
    const custom = (): Layer =>
      defineLayer('', (name) => ({
        name,
        kind: 'conv1x1',
        spec: { type: 'conv1x1', ...(name ? { name } : {}) },
        outputShape: (s) => right(s),
        init: () => ({ params: {}, state: {} }),
        forward: (_p, state, x) => ({ y: x, state, pullback: (dy) => ({ dx: dy, grads: {} }) }),
      }));
    const net = unwrap(network([4], [custom(), affine(3), custom()]));
    expect(net.layers.map((l) => l.name)).toEqual(['conv1x1_1', 'affine1', 'conv1x1_2']);
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

describe('the first layer input gradient', () => {
  // an identity layer (a user's own: it sees only mode and key) that records whether it was differentiated
  const spy = (seen: boolean[], id: number) =>
    defineLayer('', (name) => ({
      name,
      kind: 'spy',
      spec: { type: 'spy' },
      outputShape: (s) => ({ _tag: 'Right', right: s }),
      init: () => ({ params: {}, state: {} }),
      forward: (_p, state, x) => ({
        y: x,
        state,
        pullback: (dy) => {
          seen[id] = true;
          return { dx: dy, grads: {} };
        },
      }),
    }));

  it('conv2d first: the network pullback gives dx undefined and tells conv1 so; needInputGrad true gives dx [2,1,5,5]', () => {
    const net = unwrap(network([1, 5, 5], [conv2d({ filters: 2, size: 3 }), relu(), affine(2)]));
    const { params } = net.init(key(0));
    const x = normal(key(1), [2, 1, 5, 5]);
    const r = net.forward(params, {}, x, { mode: 'train' });
    const g = r.pullback(normal(key(2), [2, 2]));
    expect(g.dx).toBeUndefined();
    expect(Object.keys(g.grads).sort()).toEqual(['affine1.W', 'affine1.b', 'conv1.W', 'conv1.b']);
    const all = net.forward(params, {}, x, { mode: 'train', needInputGrad: true }).pullback(normal(key(2), [2, 2]));
    expect(all.dx?.shape).toEqual([2, 1, 5, 5]);
  });

  it('layers before the first layer with params are not differentiated: spy, flatten, affine -> only affine runs backward, without dx', () => {
    const seen = [false, false];
    const net = unwrap(network([2, 2], [spy(seen, 0), flatten(), affine(3), spy(seen, 1)]));
    const { params } = net.init(key(0));
    const r = net.forward(params, {}, normal(key(1), [4, 2, 2]), { mode: 'train' });
    expect(r.pullback(normal(key(2), [4, 3])).dx).toBeUndefined();
    expect(seen).toEqual([false, true]); // the first spy is layer 0; the last one sits after affine1
  });

  it('two dropout layers get different masks (the key is folded with the layer index): about 25% of units survive both', () => {
    const net = unwrap(network([4000], [dropout(), dropout()]));
    const y = toArray(net.forward({}, {}, ones([1, 4000]), { mode: 'train', key: key(9) }).y);
    const kept = y.filter((v) => v !== 0).length / 4000;
    expect(kept).toBeGreaterThan(0.22);
    expect(kept).toBeLessThan(0.28);
  });

  it('lossAndGrad in train mode returns batch norm running statistics moved toward the batch', () => {
    const net = unwrap(network([3], [batchNorm({ momentum: 0.5 }), affine(2)]));
    const { params, state } = net.init(key(0));
    const x = tensor([1, 2, 3, 3, 4, 5], [2, 3]);
    const r = lossAndGrad(net, params, state, x, Int32Array.of(0, 1));
    expect(toArray(r.state['bn1.mean'])).toEqual([1, 1.5, 2]);
    expect(Object.keys(r.grads).sort()).toEqual(['affine1.W', 'affine1.b', 'bn1.beta', 'bn1.gamma']);
  });
});
