/**
 * Property tests of a user's layer with parameters (examples/conv1x1.ts): random channel counts,
 * filters, image sizes and weight inits, through the ready properties of `@foldnet/layers/testing`,
 * and a check against foldnet's own conv2d with 1x1 filters on the same params.
 *
 *   pnpm exec vitest run examples/property-test
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { key, reshape } from '@foldnet/core';
import { closeTo, tensorArb } from '@foldnet/core/testing';
import { conv2d } from '@foldnet/layers';
import { gradientProperty, purityProperty, shapeProperty, type LayerCase } from '@foldnet/layers/testing';
import { conv1x1 } from '../conv1x1.js';

const dim = (max: number) => fc.integer({ min: 1, max });

// Layer cases: C 1-3 input channels, F 1-4 filters, H and W 1-5, any of the weight inits.
const conv1x1Case: fc.Arbitrary<LayerCase> = fc
  .record({ c: dim(3), f: dim(4), h: dim(5), w: dim(5), init: fc.constantFrom<0.5 | 'he' | 'xavier'>(0.5, 'he', 'xavier') })
  .map(({ c, f, h, w, init }) => ({
    target: conv1x1({ filters: f, weightInit: init }),
    inputShape: [c, h, w],
    label: `conv1x1 x=[C,H,W]=[${c},${h},${w}] filters=${f} init=${init}`,
  }));

describe('conv1x1 (a user-defined layer with params)', () => {
  it('conv1x1 with random C, F, H, W and init: gradients of W, b and x agree with central differences (float64)', () => {
    fc.assert(gradientProperty(conv1x1Case), { seed: 42, numRuns: 30 });
  });

  it('conv1x1 with random C, F, H, W: declared output shape = forward shape, and inputs and params stay untouched', () => {
    fc.assert(shapeProperty(conv1x1Case), { seed: 42, numRuns: 30 });
    fc.assert(purityProperty(conv1x1Case), { seed: 42, numRuns: 30 });
  });

  it('conv1x1 equals conv2d size=1 given the same W [F,C] (as [F,C,1,1]) and b, x=[2,3,4,5] F=4', () => {
    const layer = conv1x1({ filters: 4 });
    const reference = conv2d({ filters: 4, size: 1 });
    fc.assert(
      fc.property(fc.integer(), tensorArb([2, 3, 4, 5], { integer: true, min: -4, max: 4 }), (seed, x) => {
        const { params } = layer.init(key(seed), [3, 4, 5]);
        const asConv = { W: reshape(params['W'], [4, 3, 1, 1]), b: params['b'] };
        const mine = layer.forward(params, {}, x, { mode: 'eval' }).y;
        const theirs = reference.forward(asConv, {}, x, { mode: 'eval' }).y;
        const r = closeTo(mine, theirs, { rtol: 1e-5, atol: 1e-5 });
        expect(r.ok, r.message).toBe(true);
      }),
      { seed: 5, numRuns: 30 },
    );
  });
});
