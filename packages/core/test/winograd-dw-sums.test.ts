import { convGeometry, key, setThreads, uniform, type Tensor } from '@foldnet/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { filtersFromSums, winogradDwFloats, winogradDwPlanOf, winogradDwShares, winogradFilterGrad, type WinogradDwPlan } from '../src/fast/winograd.js';
import { inputTransform6 } from './winograd-model.js';
import { untilAWorkerTakesPart } from './workers.js';

// The filter gradient by Winograd (wasm/winograd.wat winogradDwTiles, winogradDwDot, winogradDyTiles6) against a
// plain model of the sums it promises, bit for bit: per share of the tile groups (winogradDwShares), per element ξ,
// filter k, channel c and lane l (a group's tile l), Σ over the share's groups in order of E_ξ[k] V_ξ[c] in float32,
// each product and each sum rounded; the lanes added as (l0 + l1) + (l2 + l3); the shares then finished by
// filtersFromSums. The model never blocks, registers or splits, so the kernel's blocks of groups, its registers, its
// ranges of filters and the threads may go any way they like as long as every sum keeps this order.
//
// The transforms are written as the kernel computes them, one float32 rounding an operation, in its order (F(4x4, 3x3):
// each row of a patch, then each column of the result; F(2x2, 3x3): V over the rows first, E over the columns first).

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const f = Math.fround;

/** The first index where two float32 arrays differ in their bits, or -1 (a difference's place says which sum went astray). */
const firstDifference = (a: ArrayLike<number>, b: Float32Array): number => {
  const [ua, ub] = [new Uint32Array(Float32Array.from(a).buffer), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  if (ua.length !== ub.length) return Math.min(ua.length, ub.length);
  return ua.findIndex((u, i) => u !== ub[i]);
};

/** F(4x4, 3x3)'s A on four values: A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]. */
const dyTransform6 = (c: readonly number[]): number[] => {
  const s1 = f(c[0] + c[2]);
  const s2 = f(c[1] + c[3]);
  const s3 = f(c[0] + f(c[2] * 4));
  const s4 = f(f(c[1] + f(c[3] * 4)) * 2);
  return [c[0], f(s1 + s2), f(s1 - s2), f(s3 + s4), f(s3 - s4), c[3]];
};

/** F(2x2, 3x3)'s Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] on four values. */
const inputTransform4 = (d: readonly number[]): number[] => [f(d[0] - d[2]), f(d[1] + d[2]), f(d[2] - d[1]), f(d[1] - d[3])];

/** F(2x2, 3x3)'s A' = [1 0; 1 1; 1 -1; 0 1] (A with its last row negated) on two values. */
const dyTransform4 = (y: readonly number[]): number[] => [y[0], f(y[0] + y[1]), f(y[0] - y[1]), y[1]];

/** The n x n matrix `a` (rows of arrays) transformed over its rows by `rows` and over its columns by `cols`, rows first or columns first. */
const transform2d = (a: readonly (readonly number[])[], rows: (v: readonly number[]) => number[], cols: (v: readonly number[]) => number[], rowsFirst: boolean): number[][] => {
  const overRows = (m: readonly (readonly number[])[]): number[][] => {
    const t = m[0].map((_, j) => rows(m.map((r) => r[j])));
    return t[0].map((_, i) => t.map((col) => col[i]));
  };
  const overCols = (m: readonly (readonly number[])[]): number[][] => m.map((r) => cols(r));
  return rowsFirst ? overCols(overRows(a)) : overRows(overCols(a));
};

/** Value (i, j) of plane `plane` ([rows, cols] at float offset plane * rows * cols of `data`), 0 outside it. */
const at = (data: ArrayLike<number>, plane: number, rows: number, cols: number, i: number, j: number): number =>
  i >= 0 && i < rows && j >= 0 && j < cols ? data[(plane * rows + i) * cols + j] : 0;

/**
 * The shares' sums [shares, X, K, C] the kernel must give, from x [N, C, H, W] and dy [N, K, OH, OW], by the plan's tiles
 * and groups (winogradDwTiles' header): group g is image g / (tH gW), group row (g mod tH gW) / gW, column g mod gW; lanes
 * side by side or 2x2.
 */
const modelSums = (p: WinogradDwPlan, x: Tensor, dy: Tensor): Float32Array => {
  const { C, H, W, K, pad, OH, OW, m, groupRows, tH, gW } = p;
  const n6 = m + 2;
  const X = n6 * n6;
  const across = 4 / groupRows;
  const { shares, shareGroups, groups } = winogradDwShares(p);
  const out = new Float32Array(shares * X * K * C);
  // per (ξ, k, c): the four lanes' running sums of the current share
  const acc = new Float32Array(X * K * C * 4);
  for (let s = 0; s < shares; s++) {
    acc.fill(0);
    for (let g = s * shareGroups; g < Math.min(groups, (s + 1) * shareGroups); g++) {
      const n = Math.floor(g / (tH * gW));
      const ty = Math.floor((g % (tH * gW)) / gW);
      const gx = g % gW;
      for (let l = 0; l < 4; l++) {
        const oy = m * (groupRows * ty + (groupRows === 2 ? l >> 1 : 0));
        const ox = m * (across * gx + (groupRows === 2 ? l & 1 : l));
        const V = Array.from({ length: C }, (_, c) => {
          const d = Array.from({ length: n6 }, (_, i) => Array.from({ length: n6 }, (_, j) => at(x.data, n * C + c, H, W, oy + i - pad, ox + j - pad)));
          return m === 4 ? transform2d(d, inputTransform6, inputTransform6, false) : transform2d(d, inputTransform4, inputTransform4, true);
        });
        const E = Array.from({ length: K }, (_, k) => {
          const y = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => at(dy.data, n * K + k, OH, OW, oy + i, ox + j)));
          return m === 4 ? transform2d(y, dyTransform6, dyTransform6, false) : transform2d(y, dyTransform4, dyTransform4, false);
        });
        for (let xi = 0; xi < X; xi++) {
          const [i, j] = [Math.floor(xi / n6), xi % n6];
          for (let k = 0; k < K; k++) {
            const e = E[k][i][j];
            for (let c = 0; c < C; c++) {
              const a = ((xi * K + k) * C + c) * 4 + l;
              acc[a] = f(acc[a] + f(e * V[c][i][j]));
            }
          }
        }
      }
    }
    for (let a = 0; a < X * K * C; a++) out[s * X * K * C + a] = f(f(acc[4 * a] + acc[4 * a + 1]) + f(acc[4 * a + 2] + acc[4 * a + 3]));
  }
  return out;
};

const caseOf = (m: 2 | 4, N: number, C: number, K: number, H: number, W: number, pad: number, seed: number) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
  const x = fill(seed, [N, C, H, W]);
  const dy = fill(seed + 1, [N, K, g.outH, g.outW]);
  const plan = winogradDwPlanOf(x.shape, K, g, m);
  if (plan === undefined) throw new Error(`no F(${m}x${m},3x3) plan for x=[${N},${C},${H},${W}] K=${K}`);
  const want = filtersFromSums(modelSums(plan, x, dy), winogradDwShares(plan).shares, K, C, m);
  return { plan, x, dy, want };
};

afterEach(() => setThreads(1));

describe('winograd filter gradient: the sums in the order they promise', () => {
  it('F(4x4,3x3) and F(2x2,3x3) (tiles side by side or 2x2) dW of x=[N,C,H,W] w=[K,C,3,3], N 1..4, C and K 16..27 (not multiples of 4, C odd), H and W 1..21 (partial tiles), pad 0..2, 1..3 ranges of filters: the model\'s bits', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.record({
          m: fc.constantFrom<2 | 4>(2, 4),
          N: fc.integer({ min: 1, max: 4 }),
          C: fc.integer({ min: 16, max: 27 }),
          K: fc.integer({ min: 16, max: 27 }),
          H: fc.integer({ min: 1, max: 21 }),
          W: fc.integer({ min: 1, max: 21 }),
          pad: fc.integer({ min: 0, max: 2 }),
          ranges: fc.integer({ min: 1, max: 3 }),
          seed: fc.nat(1000),
        }),
        ({ m, N, C, K, H, W, pad, ranges, seed }) => {
          if (H + 2 * pad < 3 || W + 2 * pad < 3) return;
          const { plan, x, dy, want } = caseOf(m, N, C, K, H, W, pad, seed);
          seen.add(`${m},${plan.groupRows}`);
          expect(firstDifference(winogradFilterGrad(plan, x, dy, ranges).data, want)).toBe(-1);
        },
      ),
      { numRuns: 40, seed: 20 },
    );
    // every variant was generated: F(2x2,3x3), F(4x4,3x3) side by side and 2x2
    expect([...seen].sort()).toEqual(['2,1', '4,1', '4,2']);
  });

  // [m, N, C, K, H, W, pad]: tiles enough for several shares, whose groups are no multiple of the kernel's blocks of 16
  const shared = [
    [4, 10, 17, 18, 28, 28, 1], // 140 groups side by side: 2 shares of 70 (4 blocks of 16 and one of 6)
    [4, 130, 16, 19, 7, 7, 1], // 130 groups of 2x2 tiles: 2 shares of 65
    [2, 7, 18, 17, 21, 27, 0], // F(2x2,3x3): 7 x 10 x 4 = 280 groups, 4 shares of 70
  ] as const;
  for (const [m, N, C, K, H, W, pad] of shared) {
    it(`F(${m}x${m},3x3) dW of x=[${N},${C},${H},${W}] w=[${K},${C},3,3] pad ${pad}, its groups cut into several shares of blocks of 16 and a rest: the model's bits at 1 thread and at 2`, () => {
      const { plan, x, dy, want } = caseOf(m, N, C, K, H, W, pad, 3);
      const { shares, shareGroups } = winogradDwShares(plan);
      expect(shares).toBeGreaterThan(1);
      expect(shareGroups % 16).not.toBe(0);
      setThreads(1);
      expect(firstDifference(winogradFilterGrad(plan, x, dy).data, want)).toBe(-1);
      untilAWorkerTakesPart(() => expect(firstDifference(winogradFilterGrad(plan, x, dy).data, want)).toBe(-1));
    });
  }

  // [m, N, C, K, H, W, pad]: blocks of 16 groups over several images, each image a few group rows, so that a block's
  // strips hold several parts, its first and last of a part of an image's group rows
  const parted = [
    [4, 40, 16, 17, 12, 12, 1], // 3 groups an image (one a group row): a block over 6 or 7 images, one share of 120
    [4, 33, 18, 16, 10, 11, 2], // pad 2: 12x13 outputs, 3 group rows of 1 group, 2 zero rows above and below each image
    [2, 100, 17, 16, 5, 6, 1], // F(2x2,3x3): 3 groups an image, 300 groups
  ] as const;
  for (const [m, N, C, K, H, W, pad] of parted) {
    it(`F(${m}x${m},3x3) dW of x=[${N},${C},${H},${W}] w=[${K},${C},3,3] pad ${pad}, blocks whose strips hold the rows of several images, the first and last in part: the model's bits at 1 thread and at 2`, () => {
      const { plan, x, dy, want } = caseOf(m, N, C, K, H, W, pad, 5);
      expect(16 % (plan.tH * plan.gW)).not.toBe(0);
      setThreads(1);
      expect(firstDifference(winogradFilterGrad(plan, x, dy).data, want)).toBe(-1);
      untilAWorkerTakesPart(() => expect(firstDifference(winogradFilterGrad(plan, x, dy, 2).data, want)).toBe(-1));
    });
  }

  it('dW of x=[100,16,28,28] w=[16,16,3,3] pad 1 pads x and dy in strips, a block at a time: its scratch holds less than x and one padded copy of it', () => {
    const g = convGeometry('conv', { inH: 28, inW: 28, filterH: 3, pad: 1 });
    const plan = winogradDwPlanOf([100, 16, 28, 28], 16, g, 4);
    if (plan === undefined) throw new Error('no F(4x4,3x3) plan');
    expect(winogradDwFloats(plan)).toBeLessThan(100 * 16 * (28 * 28 + plan.Hq * plan.Wq));
  });

  it('F(4x4,3x3) dW of x=[40,21,7,7] w=[22,21,3,3] pad 1 (one share of 40 groups of 2x2 tiles), cut into 2 ranges of filters across 2 threads: the model\'s bits', () => {
    const { plan, x, dy, want } = caseOf(4, 40, 21, 22, 7, 7, 1, 4);
    expect(winogradDwShares(plan).shares).toBe(1);
    untilAWorkerTakesPart(() => expect(firstDifference(winogradFilterGrad(plan, x, dy, 2).data, want)).toBe(-1));
  });
});
