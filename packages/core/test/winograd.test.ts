import { convGeometry, fastKernels, fromData, key, referenceKernels, setThreads, startThreads, uniform, type ConvGeometry, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setWinograd, winogradDxPlan, winogradPlan } from '../src/fast/winograd.js';

// Winograd F(2x2, 3x3) (src/fast/winograd.ts) against the float64 reference: forward, the fused forwards, and the input
// gradient, on generated shapes (odd sizes give partial tiles), and the shapes it does not take falling back.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const f64 = (t: Tensor): Tensor => fromData(t.shape, Float64Array.from(t.data));

/** Max abs error of a float32 result against a float64 one, and that error relative to the largest |exact| value. */
const errorOf = (got: Tensor, exact: Tensor): { abs: number; rel: number } => {
  let [abs, scale] = [0, 0];
  for (let i = 0; i < exact.size; i++) {
    abs = Math.max(abs, Math.abs(got.data[i] - exact.data[i]));
    scale = Math.max(scale, Math.abs(exact.data[i]));
  }
  return { abs, rel: abs / Math.max(scale, 1e-30) };
};

// a sum of 9C products of values in [-1, 1): float32 rounding of the direct sum is ~9C * 2^-24 at worst; Winograd's
// transforms add a few roundings of values up to ~4x the inputs' size
const tolerance = (C: number): number => 4e-7 * 9 * C + 1e-5;

const shapeArb = fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  C: fc.integer({ min: 8, max: 20 }),
  K: fc.integer({ min: 8, max: 20 }),
  H: fc.integer({ min: 1, max: 19 }),
  W: fc.integer({ min: 1, max: 19 }),
  pad: fc.integer({ min: 0, max: 2 }),
  seed: fc.nat(1000),
});

afterEach(() => {
  setThreads(1);
  setWinograd(true);
});

describe('winograd conv2d equals the reference', () => {
  it('conv2dOut x=[N,C,H,W] w=[K,C,3,3] stride=1 pad 0..2, C and K 8..20, H and W 1..19 (odd: partial tiles)', () => {
    fc.assert(
      fc.property(shapeArb, ({ N, C, K, H, W, pad, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K])];
        expect(winogradPlan(x.shape, K, g)).toBeDefined();
        const got = fastKernels.conv2dOut(x, w, b, g);
        const exact = referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
        expect(got.shape).toEqual(exact.shape);
        expect(errorOf(got, exact).abs).toBeLessThan(tolerance(C));
      }),
      { seed: 20, numRuns: 60 },
    );
  });
});
