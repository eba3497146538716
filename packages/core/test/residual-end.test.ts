import {
  composedFusions, convGeometry, fastKernels, fromData, key, referenceKernels, resultScope, setThreads, startThreads, traceConvPaths, uniform,
  type BatchNormStats, type ConvGeometry, type DType, type FusedKernels, type Tensor,
} from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setMaskInSumsMinPlane } from '../src/fast/batchnorm.js';
import { winogradConv, winogradPlan } from '../src/fast/winograd.js';

/*
 * A residual block's end in one pass, against the composition it stands for over the same kernel set, bit for bit:
 * batchNormAddRelu (the shortcut added in batch norm's normalising pass, then ReLU) equals relu(add(batchNorm(x), a)),
 * and conv2dAddRelu (by Winograd, the shortcut added in the output transform's stores after the bias) equals
 * relu(add(conv2dOut(x, w, b), a)); the paths that cannot take the addend (GEMM, direct) fall back to that composition.
 * The pullback, batchNormAddReluBackward (ReLU's mask in batch norm's sums pass, which keeps the masked dy, or on short
 * planes reluBackward's pass first, in the same call), equals reluBackward then batchNormBackward. Generated shapes with planes and rows that end inside a vector, special values in the addend, 1 and 2 threads.
 */

const fused: FusedKernels = fastKernels.fused ?? composedFusions(fastKernels);
const composed = composedFusions(fastKernels);

afterEach(() => {
  setThreads(1);
  setMaskInSumsMinPlane(128);
});

const special = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3.4e38, -1e-45];

/** Uniform values in [-1, 1] shaped `shape`; every 7th one special (NaN, ±0, ±Infinity, huge, subnormal) when `specials`. */
const draw = (seed: number, shape: readonly number[], specials = false, dtype: DType = 'float32'): Tensor => {
  const t = uniform(key(seed), shape, { low: -1, high: 1, dtype });
  if (!specials) return t;
  const f = (v: number, i: number): number => (i % 7 === 3 ? special[(i + seed) % special.length] : v);
  return fromData(shape, dtype === 'float64' ? Float64Array.from(t.data, f) : Float32Array.from(t.data, f));
};

const sameStats = (a: BatchNormStats, b: BatchNormStats): boolean =>
  a.mean.every((v, i) => Object.is(v, b.mean[i])) && a.variance.every((v, i) => Object.is(v, b.variance[i]));

// [N, D] or [N, C, H, W]; N 1..6 and 1..5 (the passes take planes four at a time: every size of a last group), planes of 1..13 floats (vector tails)
const bnShape = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 })),
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 13 })),
);

describe('batchNormAddRelu: the shortcut and ReLU in batch norm\'s pass', () => {
  const bnCase = fc.record({
    shape: bnShape,
    seed: fc.nat(1000),
    running: fc.boolean(),
  });

  const run = (k: FusedKernels, x: Tensor, a: Tensor, gamma: Tensor, beta: Tensor, running: BatchNormStats | undefined) =>
    k.batchNormAddRelu(x, a, gamma, beta, 1e-5, running);

  const operands = (shape: readonly number[], seed: number, dtype: DType = 'float32') => {
    const C = shape[1];
    const x = draw(seed, shape, false, dtype);
    const a = draw(seed + 1, shape, true, dtype);
    const gamma = draw(seed + 2, [C], false, dtype);
    const beta = draw(seed + 3, [C], false, dtype);
    const running = { mean: Float64Array.from(draw(seed + 4, [C]).data), variance: Float64Array.from(draw(seed + 5, [C]).data, (v) => 0.5 + Math.abs(v)) };
    return { x, a, gamma, beta, running };
  };

  it('equals relu(add(batchNorm(x), a)) bit for bit, train and eval, on generated shapes with NaN, ±0 and infinities in the addend', () => {
    fc.assert(
      fc.property(bnCase, ({ shape, seed, running }) => {
        const o = operands(shape, seed);
        const stats = running ? o.running : undefined;
        const one = run(fused, o.x, o.a, o.gamma, o.beta, stats);
        const two = run(composed, o.x, o.a, o.gamma, o.beta, stats);
        return bitwiseEqual(one.out, two.out) && sameStats(one.stats, two.stats);
      }),
      { seed: 17, numRuns: 150 },
    );
  });

  it('an addend resident in a result scope (a kernel\'s result, read in place) gives the same bits as a copied one', () => {
    const o = operands([3, 4, 5, 7], 9);
    const expected = run(composed, o.x, fastKernels.relu(o.a), o.gamma, o.beta, undefined).out;
    const resident = resultScope(() => Float32Array.from(run(fused, o.x, fastKernels.relu(o.a), o.gamma, o.beta, undefined).out.data));
    expect(bitwiseEqual(fromData(o.x.shape, resident), expected)).toBe(true);
  });

  it('x=[20,32,12,12] split across 2 threads by channels gives the bits of 1 thread and of the composition', () => {
    const o = operands([20, 32, 12, 12], 5);
    setThreads(1);
    const one = run(fused, o.x, o.a, o.gamma, o.beta, undefined).out;
    setThreads(2);
    startThreads();
    const two = run(fused, o.x, o.a, o.gamma, o.beta, undefined).out;
    expect(bitwiseEqual(one, two)).toBe(true);
    expect(bitwiseEqual(two, run(composed, o.x, o.a, o.gamma, o.beta, undefined).out)).toBe(true);
  });

  it('float64 operands run the reference composition', () => {
    const o = operands([2, 3, 4, 5], 3, 'float64');
    const out = run(fused, o.x, o.a, o.gamma, o.beta, undefined).out;
    expect(out.dtype).toBe('float64');
    expect(bitwiseEqual(out, run(composedFusions(referenceKernels), o.x, o.a, o.gamma, o.beta, undefined).out)).toBe(true);
  });
});

describe('batchNormAddReluBackward: ReLU\'s mask in batch norm\'s backward, the masked dy kept for the shortcut', () => {
  const bnCase = fc.record({
    shape: bnShape,
    seed: fc.nat(1000),
    batchStats: fc.boolean(),
    needDx: fc.boolean(),
  });

  /** The operands of a residual end's pullback: its forward's output and statistics, dy with NaN, ±0 and infinities. */
  const operands = (shape: readonly number[], seed: number, batchStats: boolean, dtype: DType = 'float32') => {
    const C = shape[1];
    const x = draw(seed, shape, false, dtype);
    const gamma = draw(seed + 2, [C], false, dtype);
    const running = batchStats ? undefined : { mean: Float64Array.from(draw(seed + 4, [C]).data), variance: Float64Array.from(draw(seed + 5, [C]).data, (v) => 0.5 + Math.abs(v)) };
    const f = composedFusions(dtype === 'float64' ? referenceKernels : fastKernels).batchNormAddRelu(x, draw(seed + 1, shape, true, dtype), gamma, draw(seed + 3, [C], false, dtype), 1e-5, running);
    return { x, gamma, dy: draw(seed + 6, shape, true, dtype), out: f.out, stats: f.stats };
  };

  const backward = (k: FusedKernels, o: ReturnType<typeof operands>, batchStats: boolean, needDx: boolean) =>
    k.batchNormAddReluBackward(o.dy, o.out, o.x, o.gamma, o.stats, 1e-5, batchStats, needDx);

  const sameGrads = (a: ReturnType<typeof backward>, b: ReturnType<typeof backward>): boolean =>
    bitwiseEqual(a.dsum, b.dsum) && bitwiseEqual(a.dgamma, b.dgamma) && bitwiseEqual(a.dbeta, b.dbeta) &&
    (a.dx === undefined ? b.dx === undefined : b.dx !== undefined && bitwiseEqual(a.dx, b.dx));

  it.each([
    ['masked in the sums pass', 0],
    ['masked first', Number.POSITIVE_INFINITY],
  ])('%s, equals reluBackward then batchNormBackward bit for bit, train and eval, with and without dx, on generated shapes', (_, minPlane) => {
    setMaskInSumsMinPlane(minPlane);
    fc.assert(
      fc.property(bnCase, ({ shape, seed, batchStats, needDx }) => {
        const o = operands(shape, seed, batchStats);
        return sameGrads(backward(fused, o, batchStats, needDx), backward(composed, o, batchStats, needDx));
      }),
      { seed: 29, numRuns: 150 },
    );
  });

  it.each([
    [[20, 16, 28, 28]],
    [[20, 32, 14, 14]],
    [[21, 64, 7, 7]],
  ] as const)('resnet\'s block end x=%j: 2 threads give the bits of 1 thread and of the composition', (shape) => {
    const o = operands(shape, 7, true);
    setThreads(1);
    const one = backward(fused, o, true, true);
    setThreads(2);
    startThreads();
    const two = backward(fused, o, true, true);
    expect(sameGrads(one, two)).toBe(true);
    expect(sameGrads(two, backward(composed, o, true, true))).toBe(true);
  });

  it('operands resident in a result scope (kernels\' results, read in place) give the bits of copied ones', () => {
    for (const shape of [[3, 4, 12, 12], [3, 4, 5, 7]]) {
      const o = operands(shape, 9, true);
      const expected = backward(composed, { ...o, dy: fastKernels.relu(o.dy) }, true, true);
      const resident = resultScope(() => {
        const g = backward(fused, { ...o, dy: fastKernels.relu(o.dy), x: fastKernels.add(o.x, fromData(shape, new Float32Array(o.x.size))) }, true, true);
        return { dsum: Float32Array.from(g.dsum.data), dx: Float32Array.from(g.dx?.data ?? []), dgamma: g.dgamma, dbeta: g.dbeta };
      });
      expect(sameGrads({ ...resident, dsum: fromData(shape, resident.dsum), dx: fromData(shape, resident.dx) }, expected), `x=[${shape}]`).toBe(true);
    }
  });

  it('results past the size that shares one kept slot (outside a result scope), dsum and dx both, give the bits of the composition', () => {
    // 4.2 million floats, each result alone past 16 MiB; values by formula (drawing them takes seconds)
    const shape = [1, 16, 512, 513];
    const wave = (step: number, scale: number): Tensor => fromData(shape, Float32Array.from({ length: 16 * 512 * 513 }, (_, i) => scale * Math.sin(i * step)));
    const [x, gamma] = [wave(0.37, 2), fromData([16], Float32Array.from({ length: 16 }, (_, c) => 0.5 + c / 16))];
    const f = fastKernels.fused?.batchNormAddRelu(x, wave(0.05, 1), gamma, fromData([16], new Float32Array(16)), 1e-5);
    if (f === undefined) throw new Error('the fast set has fused kernels');
    const o = { x, gamma, dy: wave(0.11, 1), out: f.out, stats: f.stats };
    expect(sameGrads(backward(fused, o, true, true), backward(composed, o, true, true))).toBe(true);
  });

  it('float64 operands run the reference composition', () => {
    const o = operands([2, 3, 4, 5], 3, true, 'float64');
    const g = backward(fused, o, true, true);
    expect(g.dsum.dtype).toBe('float64');
    expect(sameGrads(g, backward(composedFusions(referenceKernels), o, true, true))).toBe(true);
  });
});

describe('conv2dAddRelu: the shortcut and ReLU in the convolution\'s stores', () => {
  interface ConvCase {
    readonly x: readonly number[];
    readonly K: number;
    readonly g: ConvGeometry;
    readonly seed: number;
  }
  const conv = (N: number, C: number, H: number, W: number, K: number, size: number, stride: number, pad: number, seed: number): ConvCase => ({
    x: [N, C, H, W], K, seed, g: convGeometry('conv', { inH: H, inW: W, filterH: size, stride, pad }),
  });
  const operands = (c: ConvCase, dtype: DType = 'float32') => {
    const [N, C] = c.x;
    return {
      x: draw(c.seed, c.x, false, dtype),
      w: draw(c.seed + 1, [c.K, C, c.g.filterH, c.g.filterW], false, dtype),
      b: draw(c.seed + 2, [c.K], false, dtype),
      a: draw(c.seed + 3, [N, c.K, c.g.outH, c.g.outW], true, dtype),
    };
  };

  // 3x3 stride-1 convolutions Winograd takes (C >= 16, K >= 8): outputs of 1..15 rows and columns, so rows end inside
  // a vector, F(4x4, 3x3)'s tiles side by side and 2x2, and groups past the image's edge
  const winogradCase = fc
    .record({
      N: fc.integer({ min: 1, max: 2 }),
      C: fc.constantFrom(16, 17, 24),
      H: fc.integer({ min: 1, max: 15 }),
      W: fc.integer({ min: 1, max: 15 }),
      K: fc.constantFrom(8, 9, 13, 16),
      pad: fc.integer({ min: 0, max: 2 }),
      seed: fc.nat(1000),
    })
    .filter(({ H, W, pad }) => H + 2 * pad >= 3 && W + 2 * pad >= 3)
    .map(({ N, C, H, W, K, pad, seed }) => conv(N, C, H, W, K, 3, 1, pad, seed));

  it.each([2, 4] as const)('Winograd F(m x m, 3x3), m = %i, with the addend equals its output then addRelu, bit for bit, on generated shapes', (m) => {
    fc.assert(
      fc.property(winogradCase, (c) => {
        const plan = winogradPlan(c.x, c.K, c.g, 'forward', m);
        if (plan === undefined) return false;
        const { x, w, b, a } = operands(c);
        return bitwiseEqual(winogradConv(plan, x, w, b, true, a), fused.addRelu(winogradConv(plan, x, w, b, false), a));
      }),
      { seed: 23 + m, numRuns: 40 },
    );
  });

  it('the fast set takes the fused stores where Winograd runs the convolution, and the composition elsewhere; the same bits either way', () => {
    const cases = [
      conv(2, 16, 28, 28, 16, 3, 1, 1, 1), conv(2, 32, 14, 14, 32, 3, 1, 1, 2), conv(3, 64, 7, 7, 64, 3, 1, 1, 3), conv(1, 17, 9, 11, 9, 3, 1, 0, 4),
      // not Winograd: a 1x1 projection, a stride-2 3x3, too few channels, a 5x5
      conv(2, 16, 14, 14, 32, 1, 2, 0, 5), conv(2, 16, 14, 14, 32, 3, 2, 1, 6), conv(2, 4, 9, 9, 8, 3, 1, 1, 7), conv(1, 16, 9, 9, 8, 5, 1, 2, 8),
    ];
    for (const c of cases) {
      const { x, w, b, a } = operands(c);
      const { result, paths } = traceConvPaths(() => fused.conv2dAddRelu(x, w, b, c.g, a));
      const winograd = winogradPlan(c.x, c.K, c.g) !== undefined;
      expect(paths.map((p) => p.algorithm.endsWith(' + addend, ReLU')), `x=[${c.x}] K=${c.K} ${c.g.filterH}x${c.g.filterW} stride ${c.g.stride}`).toEqual([winograd]);
      expect(bitwiseEqual(result, composed.conv2dAddRelu(x, w, b, c.g, a)), `x=[${c.x}]`).toBe(true);
    }
  });

  it('an addend resident in a result scope (read in place) gives the same bits as a copied one', () => {
    const c = conv(2, 16, 13, 13, 8, 3, 1, 1, 11);
    const { x, w, b, a } = operands(c);
    const expected = composed.conv2dAddRelu(x, w, b, c.g, fastKernels.relu(a));
    const resident = resultScope(() => Float32Array.from(fused.conv2dAddRelu(x, w, b, c.g, fastKernels.relu(a)).data));
    expect(bitwiseEqual(fromData(expected.shape, resident), expected)).toBe(true);
  });

  it.each([
    [[20, 16, 28, 28], 16],
    [[20, 32, 14, 14], 32],
    [[20, 64, 7, 7], 64],
  ] as const)('resnet\'s block x=%j: 2 threads give the bits of 1 thread and of the composition', (shape, K) => {
    const c = conv(shape[0], shape[1], shape[2], shape[3], K, 3, 1, 1, 13);
    const { x, w, b, a } = operands(c);
    setThreads(1);
    const one = fused.conv2dAddRelu(x, w, b, c.g, a);
    setThreads(2);
    startThreads();
    const two = fused.conv2dAddRelu(x, w, b, c.g, a);
    expect(bitwiseEqual(one, two)).toBe(true);
    expect(bitwiseEqual(two, composed.conv2dAddRelu(x, w, b, c.g, a))).toBe(true);
  });

  it('float64 operands run the reference composition', () => {
    const c = conv(1, 16, 6, 6, 8, 3, 1, 1, 17);
    const { x, w, b, a } = operands(c, 'float64');
    const out = fused.conv2dAddRelu(x, w, b, c.g, a);
    expect(out.dtype).toBe('float64');
    expect(bitwiseEqual(out, composedFusions(referenceKernels).conv2dAddRelu(x, w, b, c.g, a))).toBe(true);
  });
});
