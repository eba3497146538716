import {
  composedFusions, fastKernels, fromData, fromNested, key, referenceKernels, setThreads, startThreads, uniform,
  type BatchNormGrads, type BatchNormResult, type BatchNormStats, type Tensor,
} from '@foldnet/core';
import { bitwiseEqual, sameBytes, snapshotBytes } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

/*
 * Batch norm and element-wise sums in the kernel contract. The reference is the oracle (double-precision loops); the
 * fast set (wasm/batchnorm.wat, wasm/add.wat) is checked against it on generated shapes, train and eval, plain and
 * with the fused ReLU.
 *
 * Tolerance of batch norm, fast against reference: the largest difference of a tensor's elements over a scale stays
 * below 2e-6 (scaledDiff). The scale is the tensor's largest magnitude, except where the result can cancel far below
 * its terms: the mean on max |x|, dbeta on sum |dy| and dgamma on sum |dy xhat| (the largest channel's), dx on its
 * largest term gamma/std |dy| (with one element a channel dx is 0 and float32 keeps only the terms' rounding).
 * Measured over 1,600 random shapes like these and [100,16,28,28], [50,32,14,14], [100,64,7,7], data around 0, 3,
 * -50 and 100: at most 2.0e-7 (out), 2.2e-8 (mean), 8.4e-8 (variance), 1.6e-7 (dx), 1.2e-7 (dgamma), 9.6e-8 (dbeta).
 * The fast set sums in float32 within a plane and in f64 across planes, and normalises in float32 where the
 * reference works in f64 throughout.
 */

const TOLERANCE = 2e-6;

/** max |a - b| / max(max |b|, floor): a difference on the tensor's own scale (0 when both are all zero). */
const scaledDiff = (a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number => {
  let [diff, scale] = [0, floor];
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff === 0 ? 0 : diff / scale;
};

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

const expectNear = (a: ArrayLike<number>, b: ArrayLike<number>, what: string, floor = 0): void => {
  expect(a.length, what).toBe(b.length);
  const d = scaledDiff(a, b, floor);
  expect(d, `${what}: scaled difference ${d}`).toBeLessThan(TOLERANCE);
};

interface BnCase {
  readonly shape: readonly number[];
  readonly offset: number;
  readonly seed: number;
}

// [N, D] or [N, C, H, W]; planes of 1..13 floats cross the 4-lane vectors and their scalar tails; data around 0 or far
// from it (the statistics' cancellation)
const bnCase: fc.Arbitrary<BnCase> = fc.record({
  shape: fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 })),
    fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 13 })),
  ),
  offset: fc.constantFrom(0, 3, -50),
  seed: fc.nat(1000),
});

const operands = ({ shape, offset, seed }: BnCase) => {
  const C = shape[1];
  return {
    x: uniform(key(seed), shape, { low: offset - 1, high: offset + 1 }),
    dy: uniform(key(seed + 1), shape, { low: -1, high: 1 }),
    gamma: uniform(key(seed + 2), [C], { low: 0.5, high: 1.5 }),
    beta: uniform(key(seed + 3), [C], { low: -0.5, high: 0.5 }),
    running: { mean: Float64Array.from({ length: C }, (_, c) => offset + c / 10), variance: Float64Array.from({ length: C }, (_, c) => 0.5 + c / 7) },
  };
};

// the mean on the scale of x (it can be far smaller than x's values)
const expectSameForward = (f: BatchNormResult, r: BatchNormResult, x: Tensor, what: string): void => {
  expectNear(f.out.data, r.out.data, `${what} out`);
  expectNear(f.stats.mean, r.stats.mean, `${what} mean`, maxAbs(x.data));
  expectNear(f.stats.variance, r.stats.variance, `${what} variance`);
};

/**
 * The scales a backward's differences are measured on: the sums' own, sum |dy| and sum |dy xhat| per channel (the largest
 * channel's: dbeta and dgamma can cancel far below them), and dx's largest term gamma/std |dy|.
 */
const gradScales = (dy: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number): { dx: number; dgamma: number; dbeta: number } => {
  const C = gamma.size;
  const S = dy.size / (dy.shape[0] * C);
  const [absDy, absDyXhat] = [new Float64Array(C), new Float64Array(C)];
  let dx = 0;
  for (let i = 0; i < dy.size; i++) {
    const c = Math.floor(i / S) % C;
    const invStd = 1 / Math.sqrt(stats.variance[c] + eps);
    absDy[c] += Math.abs(dy.data[i]);
    absDyXhat[c] += Math.abs(dy.data[i] * (x.data[i] - stats.mean[c]) * invStd);
    dx = Math.max(dx, Math.abs(gamma.data[c] * invStd * dy.data[i]));
  }
  return { dx, dgamma: maxAbs(absDyXhat), dbeta: maxAbs(absDy) };
};

const expectSameGrads = (f: BatchNormGrads, r: BatchNormGrads, what: string, scales: { dx: number; dgamma: number; dbeta: number }): void => {
  expect(f.dx === undefined, `${what} dx given`).toBe(r.dx === undefined);
  if (f.dx !== undefined && r.dx !== undefined) expectNear(f.dx.data, r.dx.data, `${what} dx`, scales.dx);
  expectNear(f.dgamma.data, r.dgamma.data, `${what} dgamma`, scales.dgamma);
  expectNear(f.dbeta.data, r.dbeta.data, `${what} dbeta`, scales.dbeta);
};

afterEach(() => setThreads(1));

describe('batchNorm on the reference kernels', () => {
  it('x=[2,1,1,2] [[1,2],[3,4]] normalises with mean 2.5 and biased variance 1.25; the backward of dy=x sums as the formulas say', () => {
    const x = fromData([2, 1, 1, 2], Float64Array.of(1, 2, 3, 4));
    const gamma = fromNested([2], 'float64');
    const beta = fromNested([1], 'float64');
    const { out, stats } = referenceKernels.batchNorm(x, gamma, beta, 1e-5);
    expect(Array.from(stats.mean)).toEqual([2.5]);
    expect(Array.from(stats.variance)).toEqual([1.25]);
    const std = Math.sqrt(1.25 + 1e-5);
    Array.from(out.data).forEach((v, i) => expect(v).toBeCloseTo(2 * ((i + 1 - 2.5) / std) + 1, 12));
    const g = referenceKernels.batchNormBackward(x, x, gamma, stats, 1e-5, true, true);
    expect(g.dbeta.data[0]).toBe(10);
    // sum dy * xhat = sum x (x - 2.5) / std = 5 / std; dx = gamma/std (dy - mean(dy) - xhat mean(dy xhat))
    expect(g.dgamma.data[0]).toBeCloseTo(5 / std, 12);
    const dx = Array.from({ length: 4 }, (_, i) => (2 / std) * (i + 1 - 2.5 - (((i + 1 - 2.5) / std) * (5 / std)) / 4));
    Array.from(g.dx?.data ?? []).forEach((v, i) => expect(v).toBeCloseTo(dx[i], 12));
    const evalGrads = referenceKernels.batchNormBackward(x, x, gamma, stats, 1e-5, false, true);
    Array.from(evalGrads.dx?.data ?? []).forEach((v, i) => expect(v).toBeCloseTo((2 / std) * (i + 1), 12));
  });
});

describe('fast batchNorm equals reference', () => {
  it('train and eval forward, and their backward with and without dx, on generated [N, D] and [N, C, H, W] float32', () => {
    fc.assert(
      fc.property(bnCase, (c) => {
        const { x, dy, gamma, beta, running } = operands(c);
        const what = `x=[${c.shape}] around ${c.offset}`;
        for (const stats of [undefined, running]) {
          const f = fastKernels.batchNorm(x, gamma, beta, 1e-5, stats);
          const r = referenceKernels.batchNorm(x, gamma, beta, 1e-5, stats);
          expectSameForward(f, r, x, `${what} ${stats ? 'eval' : 'train'}`);
          for (const needDx of [true, false]) {
            const batchStats = stats === undefined;
            expectSameGrads(
              fastKernels.batchNormBackward(dy, x, gamma, r.stats, 1e-5, batchStats, needDx),
              referenceKernels.batchNormBackward(dy, x, gamma, r.stats, 1e-5, batchStats, needDx),
              `${what} ${stats ? 'eval' : 'train'} backward`,
              gradScales(dy, x, gamma, r.stats, 1e-5),
            );
          }
        }
      }),
      { seed: 42, numRuns: 120 },
    );
  });

  it('fused batchNormRelu and its backward equal relu(batchNorm) and reluBackward then batchNormBackward, fast: bit for bit; against the reference within tolerance', () => {
    const fastComposed = composedFusions(fastKernels);
    const refComposed = composedFusions(referenceKernels);
    const fused = fastKernels.fused;
    if (fused === undefined) throw new Error('the fast set has fused kernels');
    fc.assert(
      fc.property(bnCase, (c) => {
        const { x, dy, gamma, beta, running } = operands(c);
        for (const stats of [undefined, running]) {
          const f = fused.batchNormRelu(x, gamma, beta, 1e-5, stats);
          const composed = fastComposed.batchNormRelu(x, gamma, beta, 1e-5, stats);
          expect(bitwiseEqual(f.out, composed.out)).toBe(true);
          expectSameForward(f, refComposed.batchNormRelu(x, gamma, beta, 1e-5, stats), x, 'relu');
          const batchStats = stats === undefined;
          const g = fused.batchNormReluBackward(dy, f.out, x, gamma, f.stats, 1e-5, batchStats, true);
          const gc = fastComposed.batchNormReluBackward(dy, f.out, x, gamma, f.stats, 1e-5, batchStats, true);
          expect(bitwiseEqual(g.dgamma, gc.dgamma) && bitwiseEqual(g.dbeta, gc.dbeta) && g.dx !== undefined && gc.dx !== undefined && bitwiseEqual(g.dx, gc.dx)).toBe(true);
          expectSameGrads(g, refComposed.batchNormReluBackward(dy, f.out, x, gamma, f.stats, 1e-5, batchStats, true), 'relu backward', gradScales(dy, x, gamma, f.stats, 1e-5));
        }
      }),
      { seed: 43, numRuns: 80 },
    );
  });

  it('x=[100,16,28,28] around 100 (a ResNet stem, data far from 0) within tolerance, train forward and backward', () => {
    const { x, dy, gamma, beta } = operands({ shape: [100, 16, 28, 28], offset: 100, seed: 9 });
    const f = fastKernels.batchNorm(x, gamma, beta, 1e-5);
    const r = referenceKernels.batchNorm(x, gamma, beta, 1e-5);
    expectSameForward(f, r, x, 'stem');
    expectSameGrads(
      fastKernels.batchNormBackward(dy, x, gamma, r.stats, 1e-5, true, true),
      referenceKernels.batchNormBackward(dy, x, gamma, r.stats, 1e-5, true, true),
      'stem backward',
      gradScales(dy, x, gamma, r.stats, 1e-5),
    );
  });

  it("fast train forward equals, bit for bit, normalising by its own statistics given as running ones", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 1000 }), fc.boolean(), (N, C, S, seed, relu) => {
        const { x, gamma, beta } = operands({ shape: [N, C, S], offset: 3, seed });
        const eps = 1e-3;
        const train = relu ? fastKernels.fused?.batchNormRelu(x, gamma, beta, eps) : fastKernels.batchNorm(x, gamma, beta, eps);
        const again = relu ? fastKernels.fused?.batchNormRelu(x, gamma, beta, eps, train?.stats) : fastKernels.batchNorm(x, gamma, beta, eps, train?.stats);
        return train !== undefined && again !== undefined && bitwiseEqual(train.out, again.out);
      }),
      { numRuns: 60 },
    );
  });

  it('a NaN in one channel of x=[2,3,2,4] makes that channel NaN and leaves the others finite, as in the reference', () => {
    const x = fromData([2, 3, 2, 4], Float32Array.from({ length: 48 }, (_, i) => (i === 13 ? Number.NaN : Math.sin(i))));
    const [gamma, beta] = [fromNested([1, 1, 1]), fromNested([0, 0, 0])];
    for (const k of [fastKernels, referenceKernels]) {
      const { out } = k.batchNorm(x, gamma, beta, 1e-5);
      // element 13 is in plane 1 (n 0, c 1): channel 1 is planes 1 and 4
      const isNaN = Array.from(out.data, (v, i) => Number.isNaN(v) === (Math.floor(i / 8) % 3 === 1));
      expect(isNaN.every(Boolean), k.name).toBe(true);
    }
  });

  it('float64 operands run the reference kernels (same values, float64 out)', () => {
    const { x, dy, gamma, beta } = operands({ shape: [3, 2, 2, 5], offset: 0, seed: 4 });
    const [x64, dy64, g64, b64] = [x, dy, gamma, beta].map((t) => fromData(t.shape, Float64Array.from(t.data)));
    const f = fastKernels.batchNorm(x64, g64, b64, 1e-5);
    expect(f.out.dtype).toBe('float64');
    expect(bitwiseEqual(f.out, referenceKernels.batchNorm(x64, g64, b64, 1e-5).out)).toBe(true);
    const g = fastKernels.batchNormBackward(dy64, x64, g64, f.stats, 1e-5, true, true);
    const r = referenceKernels.batchNormBackward(dy64, x64, g64, f.stats, 1e-5, true, true);
    expect(g.dx !== undefined && r.dx !== undefined && bitwiseEqual(g.dx, r.dx) && bitwiseEqual(g.dgamma, r.dgamma)).toBe(true);
  });

  it('leaves its inputs unchanged and gives fresh buffers', () => {
    const { x, dy, gamma, beta } = operands({ shape: [4, 3, 5, 5], offset: 1, seed: 2 });
    const before = [x, dy, gamma, beta].map(snapshotBytes);
    const f = fastKernels.batchNorm(x, gamma, beta, 1e-5);
    const g = fastKernels.batchNormBackward(dy, x, gamma, f.stats, 1e-5, true, true);
    expect([x, dy, gamma, beta].every((t, i) => sameBytes(before[i], t))).toBe(true);
    expect(f.out.data.buffer).not.toBe(x.data.buffer);
    expect(g.dx?.data.buffer).not.toBe(dy.data.buffer);
  });

  it('x=[20,32,12,12] split across 2 threads by channels gives the bits of 1 thread', () => {
    const { x, dy, gamma, beta } = operands({ shape: [20, 32, 12, 12], offset: 2, seed: 5 });
    const run = () => {
      const f = fastKernels.batchNorm(x, gamma, beta, 1e-5);
      const r = fastKernels.fused?.batchNormRelu(x, gamma, beta, 1e-5);
      const g = fastKernels.batchNormBackward(dy, x, gamma, f.stats, 1e-5, true, true);
      return [f.out, r?.out, g.dx, g.dgamma, g.dbeta, fromData([32], f.stats.variance)];
    };
    setThreads(1);
    const one = run();
    setThreads(2);
    startThreads();
    const two = run();
    one.forEach((t, i) => expect(t !== undefined && two[i] !== undefined && bitwiseEqual(t, two[i] as Tensor), `output ${i}`).toBe(true));
  });
});

describe('add and addRelu', () => {
  const special = fc.constantFrom(Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, 3.4e38);
  const element = fc.oneof(fc.float({ noNaN: false }), special, fc.float({ min: -2, max: 2, noNaN: true }));
  const pair = fc.integer({ min: 1, max: 70 }).chain((n) => fc.tuple(fc.array(element, { minLength: n, maxLength: n }), fc.array(element, { minLength: n, maxLength: n })));
  const sameValues = (a: Tensor, b: Tensor): boolean => a.size === b.size && Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));

  it('fast add and addRelu equal the reference on generated float32 vectors of length 1..70 (NaN, -0, infinities, overflow)', () => {
    const refAddRelu = composedFusions(referenceKernels).addRelu;
    fc.assert(
      fc.property(pair, ([as, bs]) => {
        const [a, b] = [fromData([as.length], Float32Array.from(as)), fromData([bs.length], Float32Array.from(bs))];
        return sameValues(fastKernels.add(a, b), referenceKernels.add(a, b)) && sameValues(fastKernels.fused?.addRelu(a, b) ?? a, refAddRelu(a, b));
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('add [1, 2] + [3, 4.5] is [4, 6.5] on both sets, float64 kept', () => {
    for (const k of [fastKernels, referenceKernels]) {
      expect(Array.from(k.add(fromNested([1, 2]), fromNested([3, 4.5])).data)).toEqual([4, 6.5]);
      expect(k.add(fromNested([1], 'float64'), fromNested([2], 'float64')).dtype).toBe('float64');
    }
  });

  it('a=[300000] split across 2 threads gives the bits of 1 thread', () => {
    const a = uniform(key(1), [300000], { low: -1, high: 1 });
    const b = uniform(key(2), [300000], { low: -1, high: 1 });
    setThreads(1);
    const one = fastKernels.fused?.addRelu(a, b);
    setThreads(2);
    startThreads();
    const two = fastKernels.fused?.addRelu(a, b);
    expect(one !== undefined && two !== undefined && bitwiseEqual(one, two) && sameValues(two, composedFusions(referenceKernels).addRelu(a, b))).toBe(true);
  });
});
