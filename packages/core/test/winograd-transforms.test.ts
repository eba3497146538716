import { convGeometry, fromData, key, setThreads, type Tensor, uniform } from '@foldnet/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { inputTransform6 } from './winograd-model.js';
import { untilAWorkerTakesPart } from './workers.js';
import { workspace } from '../src/fast/layout.js';
import { f32 } from '../src/fast/wasm.js';
import {
  setWinogradStrips, transformFilters, transformInputFloats, winogradConv, winogradDxPlan, winogradInputGrad, winogradMultiplyOf, winogradPlan, type WinogradPlan,
} from '../src/fast/winograd.js';

/*
 * F(4x4, 3x3)'s input and output transforms (wasm/winograd.wat's $winogradInputTiles6 and $winogradOutputTiles6, and the
 * row stores) against a float32 model of the same sums, tile by tile: V = Bᵀ d B (each row's six columns first, then
 * each column's six rows), M_ξ = Σ_c U_ξ V_ξ from 0 in channel order (winogradMultiply's order), Y = Aᵀ M A (each
 * column's six rows first, then each row's six columns) plus the bias, ReLU'd. Every operation is rounded to float32 as
 * the kernel rounds it, so the two agree bit for bit: a transform that adds its terms in another order, or a store that
 * writes the wrong floats, fails here. U is taken from the kernel's own filter transform (transformFilters, tested in
 * winograd-filters.test.ts).
 */

const f = Math.fround;
const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Aᵀ applied to six values, as the kernel rounds it: four. */
const outputSix = (c: readonly number[]): number[] => {
  const [s1, d1, s2, d2] = [f(c[1] + c[2]), f(c[1] - c[2]), f(c[3] + c[4]), f(c[3] - c[4])];
  return [f(f(c[0] + s1) + s2), f(d1 + f(d2 * 2)), f(s1 + f(s2 * 4)), f(f(d1 + f(d2 * 8)) + c[5])];
};

/** U_ξ[c, k] (36 matrices [C, K]) of filters w [K, C, 3, 3], by the kernel's filter transform. */
const transformedFilters = (w: Tensor): Float32Array => {
  const [K, C] = w.shape;
  const [pu, pw] = workspace([36 * C * K, transformInputFloats(w.size)]);
  transformFilters(4, C, K, w.data, { base: 0, byCi: 9, byKo: 9 * C, byRow: 3, byCol: 1 }, pu, pw);
  return f32().slice(pu / 4, pu / 4 + 36 * C * K);
};

/** The model: x [N, C, H, W] with transformed filters u (K filters), bias b, padded by pad -> [N, K, H + 2 pad - 2, W + 2 pad - 2]. */
const model = (x: Tensor, u: Float32Array, K: number, b: ArrayLike<number>, pad: number, relu: boolean): Float32Array => {
  const [N, C, H, W] = x.shape;
  const [OH, OW] = [H + 2 * pad - 2, W + 2 * pad - 2];
  const out = new Float32Array(N * K * OH * OW);
  const at = (n: number, c: number, y: number, xx: number): number => (y < 0 || y >= H || xx < 0 || xx >= W ? 0 : x.data[((n * C + c) * H + y) * W + xx]);
  for (let n = 0; n < N; n++) {
    for (let ty = 0; ty < OH; ty += 4) {
      for (let tx = 0; tx < OW; tx += 4) {
        // V[c][ξ]: each row's columns, then each column's rows
        const V = Array.from({ length: C }, (_, c) => {
          const rows = Array.from({ length: 6 }, (_, r) => inputTransform6(Array.from({ length: 6 }, (_, s) => at(n, c, ty + r - pad, tx + s - pad))));
          const v = new Array<number>(36);
          for (let j = 0; j < 6; j++) inputTransform6(rows.map((row) => row[j])).forEach((value, i) => (v[6 * i + j] = value));
          return v;
        });
        for (let k = 0; k < K; k++) {
          const M = Array.from({ length: 36 }, (_, xi) => V.reduce((acc, v, c) => f(acc + f(u[(xi * C + c) * K + k] * v[xi])), 0));
          // Aᵀ M: each column's rows, then A: each row's columns
          const columns = Array.from({ length: 6 }, (_, j) => outputSix([0, 1, 2, 3, 4, 5].map((i) => M[6 * i + j])));
          for (let a = 0; a < 4 && ty + a < OH; a++) {
            outputSix(columns.map((column) => column[a])).forEach((y, bx) => {
              const value = f(y + b[k]);
              if (tx + bx < OW) out[((n * K + k) * OH + ty + a) * OW + tx + bx] = relu && value <= 0 ? 0 : value;
            });
          }
        }
      }
    }
  }
  return out;
};

/** w [K, C, 3, 3] turned by 180° with its channels swapped: [C, K, 3, 3], the input gradient's filters. */
const turned = (w: Tensor): Tensor => {
  const [K, C] = w.shape;
  const t = new Float32Array(w.size);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let i = 0; i < 9; i++) t[(c * K + k) * 9 + 8 - i] = w.data[(k * C + c) * 9 + i];
  return fromData([C, K, 3, 3], t);
};

/** Shapes with partial tiles and groups at the right and bottom (H, W 1..19), narrow ones (2x2 groups), pads 0..2. */
const caseArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }),
  C: fc.integer({ min: 16, max: 19 }),
  K: fc.integer({ min: 8, max: 11 }),
  H: fc.integer({ min: 1, max: 19 }),
  W: fc.integer({ min: 1, max: 19 }),
  pad: fc.integer({ min: 0, max: 2 }),
  relu: fc.boolean(),
  strips: fc.constantFrom(undefined, 0, 1),
  seed: fc.nat(1000),
});

afterEach(() => {
  setThreads(1);
  setWinogradStrips(undefined);
});

/** The plan must be F(4x4, 3x3) with its products by winogradMultiply: the transforms under test, not another path. */
const expectTransformsTaken = (plan: WinogradPlan | undefined): WinogradPlan => {
  if (plan === undefined) throw new Error('no plan');
  expect(plan.m).toBe(4);
  expect(winogradMultiplyOf(plan)).toBe('winogradMultiply');
  return plan;
};

describe('F(4x4,3x3) transforms equal a float32 model of the same sums, bit for bit', () => {
  it('forward x=[N,C,H,W] w=[K,C,3,3] pad 0..2, H and W 1..19, bias, with and without ReLU, tiles side by side and 2x2, padded copy or strips', () => {
    const layouts = new Set<number>();
    fc.assert(
      fc.property(caseArb, ({ N, C, K, H, W, pad, relu, strips, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        setWinogradStrips(strips);
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K])];
        const plan = expectTransformsTaken(winogradPlan(x.shape, K, g, 'forward', 4));
        layouts.add(plan.groupRows);
        const got = winogradConv(plan, x, w, b, relu).data;
        expect(bitsOf(Float32Array.from(got))).toEqual(bitsOf(model(x, transformedFilters(w), K, b.data, pad, relu)));
      }),
      { seed: 50, numRuns: 60 },
    );
    expect([...layouts].sort()).toEqual([1, 2]);
  });

  it('input gradient dx of x=[N,C,H,W] w=[K,C,3,3] pad 0..2 (dy padded by 2 - pad, the turned filters), H and W 1..19', () => {
    fc.assert(
      fc.property(caseArb, ({ N, C, K, H, W, pad, strips, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        setWinogradStrips(strips);
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const w = fill(seed + 1, [K, C, 3, 3]);
        const dy = fill(seed + 3, [N, K, g.outH, g.outW]);
        const plan = expectTransformsTaken(winogradDxPlan(dy.shape, [N, C, H, W], g, 4));
        const got = winogradInputGrad(plan, dy, w).data;
        const want = model(dy, transformedFilters(turned(w)), C, new Float32Array(C), 2 - pad, false);
        expect(bitsOf(Float32Array.from(got))).toEqual(bitsOf(want));
      }),
      { seed: 51, numRuns: 40 },
    );
  });

  // large enough to be split across the threads (PARALLEL_MIN_MACS)
  it('forward and dx at 2 threads, a worker taking part: x=[32,16,14,14] w=[16,16,3,3] pad 1 (side by side), x=[120,16,7,7] (2x2)', () => {
    for (const [N, H] of [[32, 14], [120, 7]]) {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad: 1 });
      const [x, w, b, dy] = [fill(1, [N, 16, H, H]), fill(2, [16, 16, 3, 3]), fill(3, [16]), fill(4, [N, 16, H, H])];
      const plan = expectTransformsTaken(winogradPlan(x.shape, 16, g, 'forward', 4));
      const dxPlan = expectTransformsTaken(winogradDxPlan(dy.shape, x.shape, g, 4));
      const [forward, dx] = [bitsOf(model(x, transformedFilters(w), 16, b.data, 1, true)), bitsOf(model(dy, transformedFilters(turned(w)), 16, new Float32Array(16), 1, false))];
      untilAWorkerTakesPart(() => {
        expect(bitsOf(Float32Array.from(winogradConv(plan, x, w, b, true).data))).toEqual(forward);
        expect(bitsOf(Float32Array.from(winogradInputGrad(dxPlan, dy, w).data))).toEqual(dx);
      });
    }
  });
});
