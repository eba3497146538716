import { fromNested, toArray } from '@foldnet/core';
import { describe, expect, it } from 'vitest';
import { softmax, softmaxCrossEntropy } from '@foldnet/layers';

describe('softmaxCrossEntropy', () => {
  it('logits [[2,1,0.1]] label 0: loss = -log(e^2 / (e^2 + e + e^0.1)) = 0.4170300', () => {
    const { loss, dlogits } = softmaxCrossEntropy(fromNested([[2, 1, 0.1]], 'float64'), Int32Array.of(0));
    const s = Math.exp(2) + Math.exp(1) + Math.exp(0.1);
    expect(loss).toBeCloseTo(-Math.log(Math.exp(2) / s), 12);
    expect(loss).toBeCloseTo(0.41703, 5);
    const d = toArray(dlogits);
    expect(d[0]).toBeCloseTo(Math.exp(2) / s - 1, 12);
    expect(d[1]).toBeCloseTo(Math.exp(1) / s, 12);
    expect(d[2]).toBeCloseTo(Math.exp(0.1) / s, 12);
  });

  it('labels and one-hot rows give the same loss and gradient, the mean over N=2', () => {
    const z = fromNested([[1, 2, 3], [0.5, -1, 4]], 'float64');
    const a = softmaxCrossEntropy(z, Int32Array.of(2, 0));
    const b = softmaxCrossEntropy(z, fromNested([[0, 0, 1], [1, 0, 0]], 'float64'));
    expect(b.loss).toBeCloseTo(a.loss, 14);
    toArray(a.dlogits).forEach((v, i) => expect(toArray(b.dlogits)[i]).toBeCloseTo(v, 14));
    const p = toArray(softmax(z));
    expect(a.loss).toBeCloseTo(-(Math.log(p[2]) + Math.log(p[3])) / 2, 12);
  });

  it('logits [[1000, 0]] stay finite (no overflow) and give loss 1000 for label 1', () => {
    const { loss, dlogits } = softmaxCrossEntropy(fromNested([[1000, 0]]), Int32Array.of(1));
    expect(loss).toBe(1000);
    expect(toArray(dlogits)).toEqual([1, -1]);
  });

  it('a label out of range names the row and the range', () => {
    expect(() => softmaxCrossEntropy(fromNested([[1, 2]]), Int32Array.of(2))).toThrow(
      'softmaxCrossEntropy: label 2 at row 0 is out of range [0, 2)',
    );
  });
});
