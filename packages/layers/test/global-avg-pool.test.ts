import { key, normal, referenceKernels, resultScope, setThreads, startThreads, type Tensor } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { affine, conv2d, defineLayer, globalAvgPool2d, lossAndGrad, network, relu, unwrap, type Layer } from '@foldnet/layers';

/*
 * A network's gradients through globalAvgPool2d on the fast kernels (its WebAssembly pool, reading and writing the result
 * scope's memory) equal those through a layer of one's own that runs the reference kernels' pool (the oracle of the pool's
 * bits, core's test/global-avg-pool.test.ts): logits, loss and every gradient, bit for bit, at 1 and 2 threads.
 */

afterEach(() => setThreads(1));

const sameBits = (a: Tensor, b: Tensor): boolean => {
  const [x, y] = [new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)];
  return a.dtype === b.dtype && x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Global average pooling by the reference kernels, as an opaque layer: the fast set never sees it. */
const referencePool: Layer = defineLayer('', (name) => ({
  name,
  kind: 'referencePool',
  spec: { type: 'referencePool' },
  outputShape: (s) => ({ _tag: 'Right', right: [s[0]] }),
  init: () => ({ params: {}, state: {} }),
  forward: (_p, state, x) => ({
    y: referenceKernels.globalAvgPool2d(x),
    state,
    pullback: (dy) => ({ dx: referenceKernels.globalAvgPool2dBackward(dy, x.shape), grads: {} }),
  }),
}));

const head = (inputDim: readonly number[], filters: number, pool: Layer) =>
  unwrap(network(inputDim, [conv2d({ filters, size: 3, pad: 1, weightInit: 'he' }), relu(), pool, affine({ units: 10, weightInit: 'he' })]));

const gradientsOf = (inputDim: readonly number[], filters: number, N: number, pool: Layer) => {
  const net = head(inputDim, filters, pool);
  const { params, state } = net.init(key(5));
  const x = normal(key(6), [N, ...inputDim]);
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % 10);
  return resultScope(() => lossAndGrad(net, params, state, x, labels));
};

describe('gradients through globalAvgPool2d on the fast kernels', () => {
  const cases = [
    { what: "x=[100,16,7,7] -> 64 channels (resnet's head)", inputDim: [16, 7, 7], filters: 64, N: 100 },
    { what: 'x=[3,2,5,3] -> 7 channels (odd sizes, 21 planes: past a multiple of 8)', inputDim: [2, 5, 3], filters: 7, N: 3 },
  ];
  for (const threads of [1, 2])
    for (const c of cases)
      it(`${c.what}, ${threads} thread(s): logits, loss and every gradient equal the reference pool's, bit for bit`, () => {
        setThreads(threads);
        if (threads > 1) expect(startThreads()).toBe(1);
        const fast = gradientsOf(c.inputDim, c.filters, c.N, globalAvgPool2d());
        const oracle = gradientsOf(c.inputDim, c.filters, c.N, referencePool);
        expect(fast.loss).toBe(oracle.loss);
        expect(sameBits(fast.logits, oracle.logits)).toBe(true);
        expect(Object.keys(fast.grads)).toEqual(Object.keys(oracle.grads));
        for (const [name, g] of Object.entries(fast.grads)) expect(sameBits(g, oracle.grads[name]), name).toBe(true);
      });
});
