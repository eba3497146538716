import { fromData, fromNested, toArray, type Tensor } from '@foldnet/core';
import fc from 'fast-check';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropyWithLogits, crossEntropy, defaultLoss, meanSquaredError, parseLoss, softmaxCrossEntropy, type Loss, type Targets,
} from '@foldnet/layers';

// Fixed values from PyTorch 1.13 (float64), for logits [[1,2,3],[0.5,-1,4]] and labels [2, 0]:
// F.cross_entropy(z, t, label_smoothing=0.1), F.mse_loss(z, one_hot(t)), F.binary_cross_entropy_with_logits(z, one_hot(t)).
const z = fromNested([[1, 2, 3], [0.5, -1, 4]], 'float64');
const labels = Int32Array.of(2, 0);
const torchCases: readonly [string, Loss, number, readonly number[]][] = [
  ['ce:smooth=0.1', crossEntropy({ smoothing: 0.1 }), 1.9886044314512468,
    [0.02834861991852355, 0.10569756886073216, -0.13404618877925578, -0.4521057858979275, -0.013417695008835696, 0.46552348090676315]],
  ['mse', meanSquaredError(), 4.375, [1 / 3, 2 / 3, 2 / 3, -1 / 6, -1 / 3, 4 / 3]],
  ['bce', binaryCrossEntropyWithLogits(), 1.382377608291846,
    [0.12184309643833414, 0.14679951299631372, -0.007904312196261106, -0.0629234447996909, 0.04482357022833252, 0.16366896500631808]],
];

describe('losses as values', () => {
  for (const [text, loss, value, grad] of torchCases) {
    it(`${text} on logits [2,3] labels [2,0] gives PyTorch's loss and gradient`, () => {
      const r = loss.apply(z, labels);
      expect(loss.text).toBe(text);
      expect(r.loss).toBeCloseTo(value, 12);
      toArray(r.dlogits).forEach((d, i) => expect(d).toBeCloseTo(grad[i], 12));
    });
  }

  it('ce without smoothing is the lesson softmaxCrossEntropy, bit for bit, float32', () => {
    const x = fromNested([[0.3, -2, 7.5], [1e-3, 4, -4]]);
    const a = defaultLoss.apply(x, labels);
    const b = softmaxCrossEntropy(x, labels);
    expect(a.loss).toBe(b.loss);
    expect(toArray(a.dlogits)).toEqual(toArray(b.dlogits));
    expect(crossEntropy({ smoothing: 0 }).apply).toBe(softmaxCrossEntropy);
  });

  it('smoothed ce takes labels and one-hot rows alike', () => {
    const l = crossEntropy({ smoothing: 0.2 });
    const a = l.apply(z, labels);
    const b = l.apply(z, fromNested([[0, 0, 1], [1, 0, 0]], 'float64'));
    expect(b.loss).toBeCloseTo(a.loss, 14);
    toArray(a.dlogits).forEach((v, i) => expect(toArray(b.dlogits)[i]).toBeCloseTo(v, 14));
  });

  it('bce stays finite for logits [[1000, -1000]]', () => {
    const r = binaryCrossEntropyWithLogits().apply(fromNested([[1000, -1000]], 'float64'), Int32Array.of(0));
    expect(r.loss).toBe(0);
    expect(toArray(r.dlogits)).toEqual([0, 0]);
  });

  it('each loss names itself when a label is out of range', () => {
    expect(() => meanSquaredError().apply(z, Int32Array.of(0, 3))).toThrow('meanSquaredError: label 3 at row 1 is out of range [0, 3)');
    expect(() => crossEntropy({ smoothing: 0.1 }).apply(fromNested([1, 2]), Int32Array.of(0))).toThrow('crossEntropy: logits [2] must be 2-D [N, K]');
  });

  it('crossEntropy refuses smoothing 1 and NaN', () => {
    expect(() => crossEntropy({ smoothing: 1 })).toThrow('crossEntropy: smoothing must be in [0, 1), got 1');
    expect(() => crossEntropy({ smoothing: Number.NaN })).toThrow('got NaN');
  });

  it('parseLoss reads ce, ce:smooth=x, mse, bce and refuses the rest with what is wrong', () => {
    for (const text of ['ce', 'ce:smooth=0.1', 'mse', 'bce']) {
      const r = parseLoss(text);
      expect(isRight(r) && r.right.text).toBe(text);
    }
    const bad = parseLoss('hinge');
    expect(isLeft(bad) && bad.left).toBe('expected ce, ce:smooth=<x in [0, 1)>, mse or bce, got "hinge"');
    const smooth = parseLoss('ce:smooth=1.5');
    expect(isLeft(smooth) && smooth.left).toBe('label smoothing "1.5" is not a number in [0, 1) (e.g. ce:smooth=0.1)');
    expect(isLeft(parseLoss('ce:smooth='))).toBe(true);
  });
});

// ----- gradients: dlogits against central finite differences in float64 -----

const arbCase = fc
  .record({ N: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 2, max: 6 }), soft: fc.boolean() })
  .chain(({ N, K, soft }) =>
    fc.record({
      N: fc.constant(N),
      K: fc.constant(K),
      z: fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: N * K, maxLength: N * K }),
      v: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: N * K, maxLength: N * K }),
      labels: fc.array(fc.integer({ min: 0, max: K - 1 }), { minLength: N, maxLength: N }),
      rows: soft ? fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: N * K, maxLength: N * K }) : fc.constant(undefined),
    }),
  );

const lossesUnderTest: readonly Loss[] = [defaultLoss, crossEntropy({ smoothing: 0.1 }), crossEntropy({ smoothing: 0.5 }), meanSquaredError(), binaryCrossEntropyWithLogits()];

describe('loss gradients against finite differences (float64)', () => {
  for (const loss of lossesUnderTest) {
    it(`${loss.text}: <dlogits, v> equals the directional difference quotient, labels and soft rows`, () => {
      fc.assert(
        fc.property(arbCase, ({ N, K, z: zs, v, labels: ls, rows }) => {
          const logits = fromData([N, K], Float64Array.from(zs));
          const targets: Targets = rows === undefined ? Int32Array.from(ls) : fromData([N, K], Float64Array.from(rows));
          const shifted = (h: number): Tensor => fromData([N, K], Float64Array.from(zs, (x, i) => x + h * v[i]));
          const h = 1e-5;
          const numeric = (loss.apply(shifted(h), targets).loss - loss.apply(shifted(-h), targets).loss) / (2 * h);
          const d = toArray(loss.apply(logits, targets).dlogits);
          const analytic = d.reduce((s, di, i) => s + di * v[i], 0);
          expect(Math.abs(numeric - analytic)).toBeLessThan(1e-6 * Math.max(1, Math.abs(analytic)));
        }),
        { seed: 42, numRuns: 60 },
      );
    });
  }
});
