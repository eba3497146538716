import { arange, fromNested, key, normal, tensor, toArray, toNested, withBackend, zeros, type Tensor } from '@foldnet/core';
import { isLeft } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  affine,
  avgPool2d,
  batchNorm,
  checkGradients,
  conv2d,
  defineLayer,
  dropout,
  flatten,
  maxPool2d,
  network,
  relu,
  sequential,
  type Layer,
} from '@foldnet/layers';

const evalCtx = { mode: 'eval' } as const;

// Direct convolution from the definition, independent of im2col:
// y[n,f,oy,ox] = b[f] + sum_{c,fy,fx} w[f,c,fy,fx] * xpad[n,c,oy*s+fy,ox*s+fx]
const naiveConv = (x: Tensor, w: Tensor, b: Tensor, stride: number, pad: number): number[] => {
  const [N, C, H, W] = x.shape;
  const [F, , FH, FW] = w.shape;
  const OH = Math.floor((H + 2 * pad - FH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - FW) / stride) + 1;
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = b.data[f];
          for (let c = 0; c < C; c++)
            for (let fy = 0; fy < FH; fy++)
              for (let fx = 0; fx < FW; fx++) {
                const iy = oy * stride - pad + fy;
                const ix = ox * stride - pad + fx;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += w.data[((f * C + c) * FH + fy) * FW + fx] * x.data[((n * C + c) * H + iy) * W + ix];
              }
          out.push(s);
        }
  return out;
};

describe('hand-computed values', () => {
  it('conv2d x=arange[1,1,3,3] w=arange[1,1,2,2] b=0: [[19,25],[37,43]]', () => {
    const c = conv2d({ filters: 1, size: 2 });
    const { y } = c.forward({ W: arange([1, 1, 2, 2]), b: zeros([1]) }, {}, arange([1, 1, 3, 3]), evalCtx);
    expect(toNested(y)).toEqual([[[[19, 25], [37, 43]]]]);
  });

  it('conv2d x=arange[2,3,7,7] w=arange[4,3,3,3]/100 b=[1,2,3,4] stride=2 pad=1 equals the direct convolution', () => {
    const x = arange([2, 3, 7, 7], 'float64');
    const w = tensor(Array.from(arange([4, 3, 3, 3]).data, (v) => v / 100), [4, 3, 3, 3], 'float64');
    const b = tensor([1, 2, 3, 4], [4], 'float64');
    const { y } = conv2d({ filters: 4, size: 3, stride: 2, pad: 1 }).forward({ W: w, b }, {}, x, evalCtx);
    expect(y.shape).toEqual([2, 4, 4, 4]);
    const expected = naiveConv(x, w, b, 2, 1);
    toArray(y).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 9));
  });

  it('maxPool2d 2x2 stride 2 on a 4x4 with ties: the first maximum wins (numpy argmax), dy routed there', () => {
    const x = fromNested([[[[1, 3, 3, 0], [2, 0, 1, 3], [5, 5, 4, 4], [5, 1, 4, 2]]]]);
    const { y, pullback } = maxPool2d({ size: 2 }).forward({}, {}, x, evalCtx);
    expect(toNested(y)).toEqual([[[[3, 3], [5, 4]]]]);
    const { dx } = pullback(fromNested([[[[1, 2], [3, 4]]]]));
    expect(dx && toNested(dx)).toEqual([[[[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]]]);
  });

  it('maxPool2d size 3 stride 1 pad 1 treats padding as -Infinity: all-negative input keeps its values', () => {
    const x = fromNested([[[[-1, -2], [-3, -4]]]]);
    const { y } = maxPool2d({ size: 3, stride: 1, pad: 1 }).forward({}, {}, x, evalCtx);
    expect(toNested(y)).toEqual([[[[-1, -1], [-1, -1]]]]);
  });

  it('avgPool2d size 3 stride 1 pad 1 divides by 9 counting padding as 0 (count_include_pad)', () => {
    const { y } = avgPool2d({ size: 3, stride: 1, pad: 1 }).forward({}, {}, fromNested([[[[9, 9], [9, 9]]]]), evalCtx);
    expect(toNested(y)).toEqual([[[[4, 4], [4, 4]]]]);
  });

  it('affine x=[[1,2]] W=[[1,2,3],[4,5,6]] b=[1,1,1]: [[10,13,16]] and dW = xᵀ dy', () => {
    const { y, pullback } = affine(3).forward({ W: fromNested([[1, 2, 3], [4, 5, 6]]), b: tensor([1, 1, 1]) }, {}, fromNested([[1, 2]]), evalCtx);
    expect(toNested(y)).toEqual([[10, 13, 16]]);
    const g = pullback(fromNested([[1, 0, -1]]));
    expect(toNested(g.grads.W)).toEqual([[1, 0, -1], [2, 0, -2]]);
    expect(g.dx && toNested(g.dx)).toEqual([[-2, -2]]);
  });

  it('affine flattens x=[2,2,1,2] to [2,4] and gives dx back in [2,2,1,2]', () => {
    const { y, pullback } = affine(1).forward({ W: tensor([1, 1, 1, 1], [4, 1]), b: tensor([0]) }, {}, arange([2, 2, 1, 2]), evalCtx);
    expect(toNested(y)).toEqual([[6], [22]]);
    expect(pullback(tensor([1, 1], [2, 1])).dx?.shape).toEqual([2, 2, 1, 2]);
  });

  it('dropout rate 0.5 in train mode keeps about half of 10000 units at 2x, is the identity in eval mode, and the same key gives the same mask', () => {
    const x = tensor(new Array(10000).fill(1));
    const d = dropout({ rate: 0.5 });
    const a = toArray(d.forward({}, {}, x, { mode: 'train', key: key(3) }).y);
    const kept = a.filter((v) => v === 2).length;
    expect(a.every((v) => v === 0 || v === 2)).toBe(true);
    expect(kept).toBeGreaterThan(4800);
    expect(kept).toBeLessThan(5200);
    expect(toArray(d.forward({}, {}, x, { mode: 'train', key: key(3) }).y)).toEqual(a);
    expect(d.forward({}, {}, x, evalCtx).y).toBe(x);
    expect(() => d.forward({}, {}, x, { mode: 'train' })).toThrow('dropout: train mode needs ctx.key for the dropout mask');
  });

  it('batchNorm in train mode normalizes each channel of [2,2,1,2] and moves the running mean by 1 - momentum', () => {
    const bn = batchNorm({ momentum: 0.9, eps: 1e-12 });
    const { params, state } = bn.init(key(0), [2, 1, 2], { dtype: 'float64' });
    const x = fromNested([[[[1, 3]], [[10, 10]]], [[[5, 7]], [[20, 20]]]], 'float64');
    const r = bn.forward(params, state, x, { mode: 'train' });
    // channel 0: values 1,3,5,7 (mean 4, var 5); channel 1: 10,10,20,20 (mean 15, var 25)
    toArray(r.y).forEach((v, i) => expect(v).toBeCloseTo([-3, -1, -1, -1, 1, 3, 1, 1].map((z, j) => (j % 4 < 2 ? z / Math.sqrt(5) : z))[i], 9));
    expect(toArray(r.state.mean)).toEqual([0.4, 1.5].map((v) => expect.closeTo(v, 12)));
    expect(toArray(r.state.var)).toEqual([0.9 + 0.5, 0.9 + 2.5].map((v) => expect.closeTo(v, 9)));
    expect(bn.forward(params, state, x, { mode: 'eval' }).state).toBe(state);
  });

  it('flatten [2,3,2,2] -> [2,12]', () => {
    expect(flatten().forward({}, {}, zeros([2, 3, 2, 2]), evalCtx).y.shape).toEqual([2, 12]);
  });
});

describe('composition errors', () => {
  it('a 5x5 conv on a [1,3,3] input', () => {
    const r = network([1, 3, 3], [conv2d({ filters: 4, size: 5 }), relu()]);
    expect(isLeft(r) && r.left).toMatchObject({
      _tag: 'ShapeError',
      layerIndex: 0,
      layerName: 'conv1',
      inputShape: [1, 3, 3],
      message: 'layer 0 (conv1: conv2d): input [1,3,3], expected spatial size at least 5x5 (filter 5x5, pad 0)',
    });
  });

  it('a 3x3 max pool after a conv that leaves 2x2 names the pool, index 2', () => {
    const r = network([1, 6, 6], [conv2d({ filters: 2, size: 5 }), relu(), maxPool2d({ size: 3 })]);
    expect(isLeft(r) && r.left.message).toBe('layer 2 (pool1: maxPool2d): input [2,2,2], expected spatial size at least 3x3 (window 3x3, pad 0)');
  });

  it('a conv after a dense layer says it wants [C, H, W]', () => {
    const r = network([4], [affine(8), conv2d({ filters: 1, size: 1 })]);
    expect(isLeft(r) && r.left.message).toBe('layer 1 (conv1: conv2d): input [8], expected a 3-D input [C, H, W]');
  });

  it('a conv on a batch with 3 channels whose filters expect 1', () => {
    const c = conv2d({ filters: 2, size: 3, name: 'c' });
    const { params } = c.init(key(0), [1, 5, 5]);
    expect(() => c.forward(params, {}, zeros([1, 3, 5, 5]), evalCtx)).toThrow('c: input has 3 channels, filters expect 1');
  });

  it('sequential blocks name their inner layers and prefix params: seq1.conv1.W', () => {
    const r = network([1, 6, 6], [sequential(conv2d({ filters: 2, size: 3 }), relu()), flatten(), affine(2)]);
    if (isLeft(r)) throw new Error(r.left.message);
    expect(Object.keys(r.right.init(key(0)).params).sort()).toEqual(['affine1.W', 'affine1.b', 'seq1.conv1.W', 'seq1.conv1.b']);
    expect(r.right.layerShapes).toEqual([[2, 4, 4], [32], [2]]);
  });
});

describe('checkGradients catches a wrong pullback', () => {
  // y = x * s with the gradient of s deliberately 1% too large
  const scaled: Layer = defineLayer('', (name) => ({
    name,
    kind: 'scaleBy',
    spec: { type: 'scaleBy' },
    outputShape: (s) => ({ _tag: 'Right', right: s }),
    init: (_k, _s, o) => ({ params: { s: tensor([2], [1], o?.dtype ?? 'float32') }, state: {} }),
    forward: (params, state, x) => ({
      y: tensor(Array.from(x.data, (v) => v * params.s.data[0]), x.shape, x.dtype),
      state,
      pullback: (dy) => ({
        dx: tensor(Array.from(dy.data, (v) => v * params.s.data[0]), dy.shape, dy.dtype),
        grads: { s: tensor([1.01 * Array.from(dy.data).reduce((a, v, i) => a + v * x.data[i], 0)], [1], dy.dtype) },
      }),
    }),
  }));

  it('refuses an input shape the layer refuses, with the layer\'s reason', () => {
    expect(() => checkGradients(conv2d({ filters: 1, size: 5 }), [1, 3, 3])).toThrow(
      'checkGradients: conv2d refuses input [1,3,3], expected spatial size at least 5x5 (filter 5x5, pad 0)',
    );
  });

  it('reports param s with a relative error near 1e-2 and ok false, input fine', () => {
    const r = withBackend('reference', () => checkGradients(scaled, [3], { key: key(1), input: normal(key(2), [2, 3], { dtype: 'float64' }) }));
    expect(r.ok).toBe(false);
    const s = r.entries.find((e) => e.name === 's');
    expect(s?.maxRelError).toBeGreaterThan(0.009);
    expect(s?.maxRelError).toBeLessThan(0.011);
    expect(r.entries.find((e) => e.name === 'input')?.maxRelError).toBeLessThan(1e-6);
  });
});

describe('relu keeps a diverged value visible', () => {
  it('relu x=[NaN,-1,2] gives [NaN,0,2] and passes dy through the NaN', () => {
    const layer = relu();
    const x = tensor([Number.NaN, -1, 2], [1, 3]);
    const { y, pullback } = layer.forward({}, {}, x, evalCtx);
    expect(toArray(y)).toEqual([Number.NaN, 0, 2]);
    expect(toArray(pullback(tensor([5, 6, 7], [1, 3])).dx ?? zeros([0]))).toEqual([5, 0, 7]);
  });
});
