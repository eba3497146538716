import { convGeometry, fastKernels, fromData, key, normal, setThreads, split, startThreads, uniform } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';
import { residentAt, workspace } from '../src/fast/layout.js';
import { f32 } from '../src/fast/wasm.js';
import { type FilterLayout, filtersFromSums, transformFilters, transformInputFloats, winogradDwPlan } from '../src/fast/winograd.js';

/*
 * Winograd's work on the filters, outside its tiles: the forward and the input gradient transform the filters,
 * U = G g Gᵀ (transformFilters), and the filter gradient ends by adding its shares' sums and turning them into filters,
 * dW = Gᵀ M G (wasm/winograd-filters.wat, split across the threads). Each must give the bits the JavaScript loops
 * below gave, which they replaced.
 */

const G: Readonly<Record<2 | 4, readonly (readonly number[])[]>> = {
  2: [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, -1]],
  4: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
};

/** The JavaScript loop filtersFromSums replaced, as it was: sums [shares, (m + 2)², K, C] -> dW [K, C, 3, 3]. */
const before = (sums: Float32Array, shares: number, K: number, C: number, m: 2 | 4): Float32Array => {
  const g = G[m];
  const a = m + 2;
  const plane = K * C;
  const dw = new Float32Array(plane * 9);
  const M = new Float64Array(a * a);
  const t = new Float64Array(3 * a);
  for (let kc = 0; kc < plane; kc++) {
    M.fill(0);
    for (let s = 0; s < shares; s++) for (let xi = 0; xi < a * a; xi++) M[xi] += sums[(s * a * a + xi) * plane + kc];
    t.fill(0);
    for (let i = 0; i < a; i++) for (let fy = 0; fy < 3; fy++) if (g[i][fy] !== 0) for (let j = 0; j < a; j++) t[fy * a + j] += g[i][fy] * M[i * a + j];
    for (let fy = 0; fy < 3; fy++) {
      for (let fx = 0; fx < 3; fx++) {
        let s = 0;
        for (let j = 0; j < a; j++) s += t[fy * a + j] * g[j][fx];
        dw[kc * 9 + 3 * fy + fx] = s;
      }
    }
  }
  return dw;
};

/**
 * Sums or filters: values of many magnitudes (so that float64 sums round differently in another order), some exact
 * zeros and negative zeros (whose signs an added 0 changes).
 */
const valuesOf = (seed: number, n: number): Float32Array => {
  const u = uniform(key(seed), [n], { low: -1, high: 1 }).data;
  return Float32Array.from(u, (v, i) => (i % 97 === 0 ? 0 : i % 89 === 0 ? -0 : v * 2 ** ((i * 7919) % 41 - 20)));
};

/**
 * Sums or filters of a few values only, ±0 among them: sums and differences that cancel exactly (⅙ a - ⅙ b with a = b),
 * whose zeros take their signs from the order and the operations of the sums, and zeros the first addition of 0 turns.
 */
const cancellingValuesOf = (seed: number, n: number): Float32Array => {
  const few = [0, -0, 1, -1, 0.5, -2];
  const u = uniform(key(seed), [n], { low: 0, high: few.length }).data;
  return Float32Array.from(u, (v) => few[Math.min(few.length - 1, Math.floor(v))]);
};

/** A float32 array's bits, so that 0 and -0 (and every rounding) count. */
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** The bits `run` gives at 1 thread, then at 2. */
const atOneAndTwoThreads = (run: () => Float32Array): [number[], number[]] => {
  setThreads(1);
  const one = bitsOf(run());
  setThreads(2);
  startThreads();
  return [one, bitsOf(run())];
};

/** Runs `run` at 2 threads, expecting `want` each time, until the worker has taken a chunk of it. */
const expectWorkerTakesPart = (run: () => Float32Array, want: number[]): void => untilAWorkerTakesPart(() => expect(bitsOf(run())).toEqual(want));

const caseArb = fc.record({
  shares: fc.integer({ min: 1, max: 16 }),
  K: fc.integer({ min: 1, max: 40 }),
  C: fc.integer({ min: 1, max: 40 }),
  m: fc.constantFrom(2 as const, 4 as const),
  seed: fc.nat(1000),
});

afterEach(() => setThreads(1));

describe('winograd filter gradient: dW = Gᵀ M G from the shares\' sums', () => {
  it('the same bits as the JavaScript loop it replaced: shares 1..16, K and C 1..40 (K C not a multiple of 8), F(2x2,3x3) and F(4x4,3x3)', () => {
    fc.assert(
      fc.property(caseArb, ({ shares, K, C, m, seed }) => {
        const sums = valuesOf(seed, shares * (m + 2) ** 2 * K * C);
        expect(bitsOf(filtersFromSums(sums, shares, K, C, m))).toEqual(bitsOf(before(sums, shares, K, C, m)));
      }),
      { seed: 20, numRuns: 60 },
    );
  });

  it('the same bits as the JavaScript loop it replaced on sums of ±0, ±1, 0.5 and -2 (exact cancellations, signed zeros): shares 1..16, K and C 1..40', () => {
    fc.assert(
      fc.property(caseArb, ({ shares, K, C, m, seed }) => {
        const sums = cancellingValuesOf(seed, shares * (m + 2) ** 2 * K * C);
        expect(bitsOf(filtersFromSums(sums, shares, K, C, m))).toEqual(bitsOf(before(sums, shares, K, C, m)));
      }),
      { seed: 24, numRuns: 40 },
    );
  });

  it('the same bits at 2 threads as at 1: shares 1..16, K and C 1..40, F(2x2,3x3) and F(4x4,3x3)', () => {
    fc.assert(
      fc.property(caseArb, ({ shares, K, C, m, seed }) => {
        const sums = valuesOf(seed, shares * (m + 2) ** 2 * K * C);
        const [one, two] = atOneAndTwoThreads(() => filtersFromSums(sums, shares, K, C, m));
        expect(two).toEqual(one);
      }),
      { seed: 21, numRuns: 30 },
    );
  });

  it('split across 2 threads by filter-channel pairs (64 -> 64 channels, F(4x4,3x3), 6 shares): a worker takes pairs, the same bits', () => {
    const [shares, K, C, m] = [6, 64, 64, 4] as const;
    const sums = valuesOf(3, shares * 36 * K * C);
    expectWorkerTakesPart(() => filtersFromSums(sums, shares, K, C, m), bitsOf(before(sums, shares, K, C, m)));
  });
});

describe('winograd filter gradient: x read where it is resident', () => {
  it('dW of x=[4,16,14,14] w=[16,16,3,3] pad 1, x a kernel\'s result still in its slot: padded from there, the bits of a copy of x, 1 and 2 threads', () => {
    const [kx, kd] = split(key(5), 2);
    const g = convGeometry('c', { inH: 14, inW: 14, filterH: 3, pad: 1 });
    const w = normal(kd, [16, 16, 3, 3]);
    const dy = normal(kd, [4, 16, 14, 14]);
    for (const threads of [1, 2]) {
      setThreads(threads);
      const x = fastKernels.relu(normal(kx, [4, 16, 14, 14]));
      expect(winogradDwPlan(dy.shape, x.shape, g)).toBeDefined();
      expect(residentAt(x.data)).toBeDefined();
      const inPlace = fastKernels.conv2dBackwardFromInput(dy, x, w, g, false).dw;
      const copied = fastKernels.conv2dBackwardFromInput(dy, fromData(x.shape, x.data.slice()), w, g, false).dw;
      expect(bitwiseEqual(inPlace, copied)).toBe(true);
    }
  });
});

const SIXTH = 1 / 6;
const TWELFTH = 1 / 12;
const TWENTY_FOURTH = 1 / 24;
const timesG4 = (a: number, b: number, c: number, out: Float64Array | Float32Array, at: number, step: number): void => {
  out[at] = 0.25 * a;
  out[at + step] = -SIXTH * a + -SIXTH * b + -SIXTH * c;
  out[at + 2 * step] = -SIXTH * a + SIXTH * b + -SIXTH * c;
  out[at + 3 * step] = TWENTY_FOURTH * a + TWELFTH * b + SIXTH * c;
  out[at + 4 * step] = TWENTY_FOURTH * a + -TWELFTH * b + SIXTH * c;
  out[at + 5 * step] = c;
};

/** The filter transform transformFilters replaced, as it was (reading each element through `at`): U [(m + 2)², Cin, Kout]. */
const transformBefore = (m: 2 | 4, Cin: number, Kout: number, at: (ci: number, ko: number, fy: number, fx: number) => number): Float32Array => {
  const plane = Cin * Kout;
  const mem = new Float32Array((m + 2) ** 2 * plane);
  const gg = new Float64Array(18);
  for (let ci = 0; ci < Cin; ci++) {
    for (let ko = 0; ko < Kout; ko++) {
      if (m === 2) {
        for (let fx = 0; fx < 3; fx++) {
          const [a, b, c] = [at(ci, ko, 0, fx), at(ci, ko, 1, fx), at(ci, ko, 2, fx)];
          gg[fx] = a;
          gg[3 + fx] = (a + b + c) / 2;
          gg[6 + fx] = (a - b + c) / 2;
          gg[9 + fx] = c;
        }
        for (let i = 0; i < 4; i++) {
          const [a, b, c] = [gg[3 * i], gg[3 * i + 1], gg[3 * i + 2]];
          const base = 4 * i * plane + ci * Kout + ko;
          mem[base] = a;
          mem[base + plane] = (a + b + c) / 2;
          mem[base + 2 * plane] = (a - b + c) / 2;
          mem[base + 3 * plane] = c;
        }
      } else {
        for (let fx = 0; fx < 3; fx++) timesG4(at(ci, ko, 0, fx), at(ci, ko, 1, fx), at(ci, ko, 2, fx), gg, fx, 3);
        for (let i = 0; i < 6; i++) timesG4(gg[3 * i], gg[3 * i + 1], gg[3 * i + 2], mem, 6 * i * plane + ci * Kout + ko, plane);
      }
    }
  }
  return mem;
};

/** How winogradConvAt reads W [K, C, 3, 3] (u(c, k) = W[k, c]) and how winogradDx does (u(f, c) = W[f, c] turned by 180°). */
const forwardLayout = (C: number): FilterLayout => ({ base: 0, byCi: 9, byKo: 9 * C, byRow: 3, byCol: 1 });
const turnedLayout = (C: number): FilterLayout => ({ base: 8, byCi: 9 * C, byKo: 9, byRow: -3, byCol: -1 });

/** transformFilters' U [(m + 2)², Cin, Kout], copied out of the shared memory. */
const transformed = (m: 2 | 4, Cin: number, Kout: number, W: Float32Array, layout: FilterLayout): Float32Array => {
  const n = (m + 2) ** 2 * Cin * Kout;
  const [pu, pw] = workspace([n, transformInputFloats(W.length)]);
  transformFilters(m, Cin, Kout, W, layout, pu, pw);
  return f32().slice(pu / 4, pu / 4 + n);
};

/**
 * The loop's U of W [K, C, 3, 3] as the forward reads it (u(c, k) = W[k, c]: U [X, C, K]) or as the input gradient does
 * (W turned by 180°, channels swapped: U [X, K, C]), as winogradConvAt and winogradDx read W.
 */
const transformedBefore = (m: 2 | 4, K: number, C: number, W: Float32Array, forward: boolean): Float32Array =>
  forward
    ? transformBefore(m, C, K, (c, k, fy, fx) => W[((k * C + c) * 3 + fy) * 3 + fx])
    : transformBefore(m, K, C, (f, c, fy, fx) => W[((f * C + c) * 3 + (2 - fy)) * 3 + (2 - fx)]);

/** transformFilters gives the loop's bits, on filters drawn by `values`, for the forward's layout or the input gradient's. */
const transformsAsBefore = (values: (seed: number, n: number) => Float32Array) => ({ K, C, m, seed }: { K: number; C: number; m: 2 | 4; seed: number }, forward: boolean): void => {
  const W = values(seed, K * C * 9);
  const [Cin, Kout] = forward ? [C, K] : [K, C];
  expect(bitsOf(transformed(m, Cin, Kout, W, forward ? forwardLayout(C) : turnedLayout(C)))).toEqual(bitsOf(transformedBefore(m, K, C, W, forward)));
};

describe('winograd filter transform: U = G g Gᵀ', () => {
  it('the same bits as the loop it replaced, for the forward (u(c, k) = W[k, c]) and the input gradient (W turned by 180°, channels swapped): w=[K,C,3,3], K and C 1..40, F(2x2,3x3) and F(4x4,3x3)', () => {
    fc.assert(
      fc.property(caseArb, fc.boolean(), transformsAsBefore(valuesOf)),
      { seed: 22, numRuns: 80 },
    );
  });

  it('the same bits as the loop it replaced on filters of ±0, ±1, 0.5 and -2 (exact cancellations, signed zeros): K and C 1..40, forward and input gradient', () => {
    fc.assert(
      fc.property(caseArb, fc.boolean(), transformsAsBefore(cancellingValuesOf)),
      { seed: 25, numRuns: 40 },
    );
  });

  it('the same bits at 2 threads as at 1: w=[K,C,3,3], K and C 1..80, F(2x2,3x3) and F(4x4,3x3), forward and input gradient', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 2 }), fc.boolean(), ({ K, C, m, seed }, scale, forward) => {
        const [Kw, Cw] = [K * scale, C * scale];
        const W = valuesOf(seed, Kw * Cw * 9);
        const [Cin, Kout, layout] = forward ? [Cw, Kw, forwardLayout(Cw)] : [Kw, Cw, turnedLayout(Cw)];
        const [one, two] = atOneAndTwoThreads(() => transformed(m, Cin, Kout, W, layout));
        expect(two).toEqual(one);
      }),
      { seed: 23, numRuns: 40 },
    );
  });

  it('split across 2 threads by input channels (w=[64,64,3,3], F(4x4,3x3)): a worker takes channels, the same bits', () => {
    const W = valuesOf(4, 64 * 64 * 9);
    const want = bitsOf(transformedBefore(4, 64, 64, W, true));
    expectWorkerTakesPart(() => transformed(4, 64, 64, W, forwardLayout(64)), want);
  });
});
