/**
 * A user's own property tests of a custom layer, with the arbitraries and ready properties foldnet
 * exports: `@foldnet/core/testing` (shapes, tensors, comparisons) and `@foldnet/layers/testing`
 * (gradient, shape and purity properties over layer cases).
 *
 *   pnpm exec vitest run examples/property-test
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alloc, fromData, type Tensor } from '@foldnet/core';
import { closeTo, shapeArb, tensorArb } from '@foldnet/core/testing';
import { defineLayer, relu, type Layer } from '@foldnet/layers';
import { gradientProperty, purityProperty, shapeProperty, type LayerCase } from '@foldnet/layers/testing';
import { right } from 'fp-ts/lib/Either.js';
import { leakyRelu } from '../leaky-relu.js';

// Layer cases: a slope in [0, 1] and a per-sample shape of rank 1-3 with dimensions up to 4.
const leakyReluCase: fc.Arbitrary<LayerCase> = fc
  .record({ alpha: fc.double({ min: 0, max: 1, noNaN: true }), inputShape: shapeArb({ minRank: 1, maxRank: 3, maxDim: 4 }) })
  .map(({ alpha, inputShape }) => ({ target: leakyRelu({ alpha }), inputShape, label: `leakyRelu alpha=${alpha} x=[${inputShape.join(',')}]` }));

const forwardEval = (layer: Layer, x: Tensor): Tensor => layer.forward({}, {}, x, { mode: 'eval' }).y;

describe('leakyRelu (a user-defined layer)', () => {
  it('leakyRelu alpha=0.2 x=[2,4,4]: gradients agree with central differences (float64)', () => {
    fc.assert(gradientProperty(leakyRelu({ alpha: 0.2 }), [2, 4, 4]), { seed: 42, numRuns: 20 });
  });

  it('leakyRelu with random alpha and shapes: gradients, declared shape = forward shape, purity', () => {
    fc.assert(gradientProperty(leakyReluCase), { seed: 42, numRuns: 30 });
    fc.assert(shapeProperty(leakyReluCase), { seed: 42, numRuns: 30 });
    fc.assert(purityProperty(leakyReluCase), { seed: 42, numRuns: 30 });
  });

  it('leakyRelu(x) = max(x, alpha x) element-wise for alpha in [0, 1], x of any shape', () => {
    const cases = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), tensorArb(shapeArb({ maxRank: 4, maxDim: 4 }), { dtype: 'float64', min: -5, max: 5 }));
    fc.assert(
      fc.property(cases, ([alpha, x]) => {
        const expected = fromData(x.shape, Float64Array.from(x.data, (v) => Math.max(v, alpha * v)));
        const r = closeTo(forwardEval(leakyRelu({ alpha }), x), expected, { rtol: 0, atol: 0 });
        expect(r.ok, r.message).toBe(true);
      }),
      { seed: 7, numRuns: 100 },
    );
  });

  it('leakyRelu alpha=0 equals foldnet relu on float32 tensors of any shape', () => {
    fc.assert(
      fc.property(tensorArb(shapeArb({ maxRank: 4, maxDim: 5 }), { min: -3, max: 3 }), (x) => {
        const r = closeTo(forwardEval(leakyRelu({ alpha: 0 }), x), forwardEval(relu(), x), { rtol: 0, atol: 0 });
        expect(r.ok, r.message).toBe(true);
      }),
      { seed: 11, numRuns: 100 },
    );
  });

  it('gradientProperty catches a wrong pullback (the slope left out of dx for x <= 0)', () => {
    const wrong = defineLayer('', (name) => ({
      name,
      kind: 'wrongLeakyRelu',
      spec: { type: 'wrongLeakyRelu' },
      outputShape: (s) => right(s),
      init: () => ({ params: {}, state: {} }),
      forward: (_p, state, x) => {
        const y = alloc(x.dtype, x.size);
        for (let i = 0; i < x.size; i++) y[i] = x.data[i] > 0 ? x.data[i] : 0.5 * x.data[i];
        // wrong: dx = dy everywhere, as if alpha were 1
        return { y: fromData(x.shape, y), state, pullback: (dy: Tensor) => ({ dx: dy, grads: {} }) };
      },
    }));
    expect(() => fc.assert(gradientProperty(wrong, [3, 4]), { seed: 42, numRuns: 5 })).toThrow(/gradient check failed|input/);
  });
});
