import { convGeometry, key, setThreads, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { winogradDwPlan, winogradDwPlanOf, winogradDwSplit, winogradFilterGrad } from '../src/fast/winograd.js';
import { untilAWorkerTakesPart } from './workers.js';

// The filter gradient by Winograd F(4x4, 3x3) with each share of its tiles cut into ranges of filters (src/fast/winograd.ts
// dwFilterRanges, wasm/winograd.wat winogradDwTiles): resnet's 64 -> 64 layers at 7x7 and deep's at 8x8 are one share,
// which only the ranges split across the threads. Every range must give the same bits as the share whole.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

const caseOf = (N: number, C: number, K: number, H: number, W: number, pad: number, seed: number) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
  const x = fill(seed, [N, C, H, W]);
  const dy = fill(seed + 1, [N, K, g.outH, g.outW]);
  const plan = winogradDwPlanOf(x.shape, K, g, 4);
  if (plan === undefined) throw new Error(`no F(4x4,3x3) plan for x=[${N},${C},${H},${W}] K=${K}`);
  return { plan, x, dy };
};

afterEach(() => setThreads(1));

describe('winograd filter gradient cut into ranges of filters', () => {
  it('where the ranges are taken: resnet stage 3 (x=[100,64,7,7] w=[64,64,3,3]) and deep conv5, conv6 (x=[100,32|64,8,8] w=[64,..,3,3]), one share each, 2 ranges at 2 threads, 1 at 1; x=[100,32,14,14] (6 shares) and x=[2,16,7,7] (too little work) 1 range at 2 threads', () => {
    const splitOf = (N: number, C: number, K: number, H: number) => {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad: 1 });
      const plan = winogradDwPlan([N, K, g.outH, g.outW], [N, C, H, H], g);
      if (plan === undefined) throw new Error(`no plan for x=[${N},${C},${H},${H}] K=${K}`);
      return winogradDwSplit(plan);
    };
    setThreads(1);
    expect(splitOf(100, 64, 64, 7)).toEqual({ shares: 1, parallel: true, filterRanges: 1 });
    setThreads(2);
    expect(splitOf(100, 64, 64, 7)).toEqual({ shares: 1, parallel: true, filterRanges: 2 });
    expect(splitOf(100, 32, 64, 8)).toEqual({ shares: 1, parallel: true, filterRanges: 2 });
    expect(splitOf(100, 64, 64, 8)).toEqual({ shares: 1, parallel: true, filterRanges: 2 });
    expect(splitOf(100, 32, 32, 14)).toEqual({ shares: 6, parallel: true, filterRanges: 1 });
    expect(splitOf(2, 16, 16, 7)).toEqual({ shares: 1, parallel: false, filterRanges: 1 });
  });

  it('dW of x=[N,C,H,W], K filters, F(4x4,3x3) (tiles side by side or 2x2), N 1..6, C and K 16..72 (not multiples of 4), H and W 5..9, pad 0..1: 2..20 ranges (the last ones empty where there are more than rows of 4) give the bits of the share whole', () => {
    const groupings = new Set<number>();
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 1, max: 6 }),
          C: fc.integer({ min: 16, max: 72 }),
          K: fc.integer({ min: 16, max: 72 }),
          H: fc.integer({ min: 5, max: 9 }),
          W: fc.integer({ min: 5, max: 9 }),
          pad: fc.integer({ min: 0, max: 1 }),
          ranges: fc.integer({ min: 2, max: 20 }),
          seed: fc.nat(1000),
        }),
        ({ N, C, K, H, W, pad, ranges, seed }) => {
          const { plan, x, dy } = caseOf(N, C, K, H, W, pad, seed);
          groupings.add(plan.groupRows);
          const whole = winogradFilterGrad(plan, x, dy, 1);
          expect(bitwiseEqual(winogradFilterGrad(plan, x, dy, ranges), whole)).toBe(true);
        },
      ),
      { seed: 20, numRuns: 60 },
    );
    expect([...groupings].sort()).toEqual([1, 2]);
  });

  it('dW of x=[100,20,14,14], 19 filters: 400 groups in 6 shares, each cut into 3 ranges, give the bits of the shares whole', () => {
    const { plan, x, dy } = caseOf(100, 20, 19, 14, 14, 1, 7);
    expect(bitwiseEqual(winogradFilterGrad(plan, x, dy, 3), winogradFilterGrad(plan, x, dy, 1))).toBe(true);
  });

  it('dW of x=[20,64,7,7] w=[64,64,3,3] pad 1 (resnet stage 3, one share of 2x2 tiles) and x=[20,33,8,8] w=[61,33,3,3] gives the same bits at 2 threads as at 1, and the worker takes a range', () => {
    for (const [C, K, H] of [[64, 64, 7], [33, 61, 8]] as const) {
      const { plan, x, dy } = caseOf(20, C, K, H, H, 1, C);
      expect(plan.groupRows).toBe(2);
      setThreads(1);
      const one = winogradFilterGrad(plan, x, dy);
      untilAWorkerTakesPart(() => expect(bitwiseEqual(winogradFilterGrad(plan, x, dy), one)).toBe(true));
    }
  });
});
