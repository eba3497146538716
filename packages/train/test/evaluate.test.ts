import { describe, expect, test } from 'vitest';
import { fromNested, tensor } from '@foldnet/core';
import { affine, dropout, meanSquaredError, network, unwrap, type ForwardContext, type Network, type Params, type RunOptions } from '@foldnet/layers';
import { evaluate, evaluator } from '@foldnet/train';

/*
 * A hand-made case: one affine layer with W = I (3x3), b = 0, so the logits are the inputs.
 *   x            label  predicted (first maximum)
 *   [2, 0, 0]    0      0
 *   [0, 3, 0]    1      1
 *   [0, 0, 1]    1      2
 *   [1, 1, 1]    2      0   (a tie: numpy's argmax takes the first)
 *   [0, 0, 5]    2      2
 * accuracy 3/5; confusion[true][predicted] = [[1,0,0],[0,1,1],[1,0,1]];
 * loss = mean of logsumexp(x) - x[label].
 */
const net = unwrap(network([3], [affine({ units: 3, name: 'a' })]));
const params: Params = { 'a.W': fromNested([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 'float64'), 'a.b': tensor([0, 0, 0], [3], 'float64') };
const rows = [[2, 0, 0], [0, 3, 0], [0, 0, 1], [1, 1, 1], [0, 0, 5]];
const labels = Int32Array.of(0, 1, 1, 2, 2);
const data = { x: fromNested(rows, 'float64'), targets: labels };
const lse = (r: number[]): number => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
const expectedLoss = rows.reduce((s, r, i) => s + lse(r) - r[labels[i]], 0) / rows.length;

describe('evaluate on a hand-made 3-class case (logits = inputs)', () => {
  test('accuracy 0.6, the confusion matrix, mean loss and count, batch 100', () => {
    const m = evaluate(net, params, {}, data);
    expect(m.accuracy).toBe(0.6);
    expect(m.confusion).toEqual([[1, 0, 0], [0, 1, 1], [1, 0, 1]]);
    expect(m.count).toBe(5);
    expect(m.loss).toBeCloseTo(expectedLoss, 12);
  });

  test.each([1, 2, 3, 5, 7])('batchSize=%i gives the same figures (a final partial batch included)', (batchSize) => {
    const m = evaluate(net, params, {}, data, { batchSize });
    expect(m.accuracy).toBe(0.6);
    expect(m.confusion).toEqual([[1, 0, 0], [0, 1, 1], [1, 0, 1]]);
    expect(m.loss).toBeCloseTo(expectedLoss, 12);
  });

  test('one-hot targets give the same figures as labels', () => {
    const oneHot = fromNested([...labels].map((l) => [0, 1, 2].map((k) => (k === l ? 1 : 0))), 'float64');
    const m = evaluate(net, params, {}, { x: data.x, targets: oneHot }, { batchSize: 2 });
    expect(m.confusion).toEqual([[1, 0, 0], [0, 1, 1], [1, 0, 1]]);
    expect(m.loss).toBeCloseTo(expectedLoss, 12);
  });

  test('eval mode: dropout is the identity, so a network with dropout evaluates as the one without', () => {
    const withDropout = unwrap(network([3], [affine({ units: 3, name: 'a' }), dropout({ rate: 0.5 })]));
    expect(evaluate(withDropout, params, {}, data)).toEqual(evaluate(net, params, {}, data));
  });

  test('evaluator(net, data) is evaluate on a state', () => {
    expect(evaluator(net, data, { batchSize: 2 })({ params, layerState: {} })).toEqual(evaluate(net, params, {}, data, { batchSize: 2 }));
  });

  // The true class's rank per row (0 = largest; ties: the lower class first, as argmax): 0, 0, 2, 2, 0.
  test.each([[1, 0.6], [2, 0.6], [3, 1]])('top-%i accuracy counts a true class ranked below k: %f', (topK, expected) => {
    const m = evaluate(net, params, {}, data, { topK, batchSize: 2 });
    expect(m.topK).toBe(topK);
    expect(m.topKAccuracy).toBe(expected);
  });

  test('top-k: the default k is 5, capped at the number of classes (3); top-1 is the accuracy', () => {
    expect(evaluate(net, params, {}, data).topK).toBe(3);
    expect(evaluate(net, params, {}, data, { topK: 1 }).topKAccuracy).toBe(evaluate(net, params, {}, data).accuracy);
    expect(() => evaluate(net, params, {}, data, { topK: 0 })).toThrow('evaluate: topK must be a positive integer, got 0');
  });

  test('per-class accuracy: the diagonal over each row of the confusion matrix, NaN for a class with no sample', () => {
    expect(evaluate(net, params, {}, data).perClassAccuracy).toEqual([1, 0.5, 0.5]);
    const noClass2 = evaluate(net, params, {}, { x: fromNested(rows.slice(0, 3), 'float64'), targets: labels.subarray(0, 3) });
    expect(noClass2.perClassAccuracy).toEqual([1, 0.5, Number.NaN]);
  });

  test('the loss measured is the one given: mean squared error against one-hot rows', () => {
    const m = evaluate(net, params, {}, data, { loss: meanSquaredError(), batchSize: 2 });
    const mse = rows.reduce((s, r, i) => s + r.reduce((a, v, k) => a + (v - (k === labels[i] ? 1 : 0)) ** 2, 0), 0) / 15;
    expect(m.loss).toBeCloseTo(mse, 12);
  });

  test('mismatched inputs and targets, and a bad batch size, are named', () => {
    expect(() => evaluate(net, params, {}, { x: data.x, targets: Int32Array.of(0, 1) })).toThrow('evaluate: 5 inputs [5,3] but 2 targets');
    expect(() => evaluate(net, params, {}, data, { batchSize: 0 })).toThrow('evaluate: batchSize must be a positive integer, got 0');
  });

  test('the params and inputs are left untouched', () => {
    const before = [Array.from(params['a.W'].data), Array.from(data.x.data)];
    evaluate(net, params, {}, data, { batchSize: 2 });
    expect([Array.from(params['a.W'].data), Array.from(data.x.data)]).toEqual(before);
  });
});

describe('evaluate runs forwards nobody differentiates', () => {
  test('the network is run in mode eval with needInputGrad false and needGrad false (so conv skips its im2col copy)', () => {
    const seen: RunOptions[] = [];
    const spied: Network = { ...net, forward: (p, s, x, opts) => { seen.push(opts); return net.forward(p, s, x, opts); } };
    evaluate(spied, params, {}, data, { batchSize: 5 });
    expect(seen).toEqual([{ mode: 'eval', needInputGrad: false, needGrad: false }]);
  });

  test('a layer of one\'s own sees only the mode and its key', () => {
    const seen: unknown[] = [];
    const spy = {
      name: 'spy',
      kind: 'spy',
      spec: { type: 'spy', name: 'spy' },
      outputShape: (s: readonly number[]) => ({ _tag: 'Right' as const, right: s }),
      init: () => ({ params: {}, state: {} }),
      forward: (_p: Params, state: Params, x: ReturnType<typeof fromNested>, ctx: ForwardContext) => {
        seen.push(ctx);
        return { y: x, state, pullback: () => ({ dx: undefined, grads: {} }) };
      },
    };
    const spiedLayer = unwrap(network([3], [spy, affine({ units: 3, name: 'a' })]));
    evaluate(spiedLayer, params, {}, data, { batchSize: 5 });
    expect(seen).toEqual([{ mode: 'eval', key: undefined }]);
  });
});
