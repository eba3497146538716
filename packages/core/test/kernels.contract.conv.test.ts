import { convGeometry, fastKernels, fromData, key, referenceKernels, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual, closeTo, convGeometryArb } from '@foldnet/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// conv2dOut (the convolution without its im2col matrix, for forwards nobody differentiates) and the fast
// im2col in wasm, which copies window rows four floats at a time: wide filters and wide padding reach every
// branch of that copy (zeros left of the image, vectors, a scalar tail, zeros right of it).

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

describe('conv2dOut equals conv2d(...).out', () => {
  // a generated geometry with its operands: x, FN filters w and bias b, uniform in [-1, 1)
  const convCase = fc
    .record({
      c: convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 12, maxFilter: 9, maxPad: 3 }),
      FN: fc.integer({ min: 1, max: 13 }),
      seed: fc.nat(1000),
    })
    .map(({ c: { xShape, geometry: g }, FN, seed }) => ({
      xShape, g, FN,
      x: fill(seed, xShape),
      w: fill(seed + 1, [FN, xShape[1], g.filterH, g.filterW]),
      b: fill(seed + 2, [FN]),
    }));

  it('fast conv2dOut is bit-identical to fast conv2d(...).out and close to reference conv2dOut on generated geometries', () => {
    fc.assert(
      fc.property(convCase, ({ xShape, g, FN, x, w, b }) => {
        const out = fastKernels.conv2dOut(x, w, b, g);
        expect(bitwiseEqual(out, fastKernels.conv2d(x, w, b, g).out)).toBe(true);
        const r = closeTo(out, referenceKernels.conv2dOut(x, w, b, g), { rtol: 1e-5, atol: 2e-6 * (w.size / FN + 1) });
        expect(r.ok, `conv2dOut x=[${xShape}] w=[${w.shape}] stride=${g.stride} pad=${g.pad}: ${r.message}`).toBe(true);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('fast conv2dOut reads im2col(x) in place: bit-identical to the GEMM of the built im2col matrix by Wᵀ, plus the bias', () => {
    fc.assert(
      fc.property(convCase, ({ xShape, g, FN, x, w, b }) => {
        const Kc = w.size / FN;
        const rows = fastKernels.matmul(fastKernels.im2col(x, g), fromData([FN, Kc], w.data), false, true); // [R, FN]
        const P = g.outH * g.outW;
        const expected = new Float32Array(rows.size);
        for (let r = 0; r < xShape[0] * P; r++) {
          for (let f = 0; f < FN; f++) expected[(Math.floor(r / P) * FN + f) * P + (r % P)] = rows.data[r * FN + f] + b.data[f];
        }
        expect(bitwiseEqual(fastKernels.conv2dOut(x, w, b, g), fromData([xShape[0], FN, g.outH, g.outW], expected))).toBe(true);
      }),
      { seed: 43, numRuns: 60 },
    );
  });

  it('reference conv2dOut x=[2,3,7,7] w=[4,3,3,3] stride=2 pad=1 equals conv2d(...).out on both kernel sets, float32 and float64', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = uniform(key(1), [2, 3, 7, 7], { dtype });
      const w = uniform(key(2), [4, 3, 3, 3], { dtype });
      const b = uniform(key(3), [4], { dtype });
      const g = convGeometry('test', { inH: 7, inW: 7, filterH: 3, stride: 2, pad: 1 });
      expect(bitwiseEqual(referenceKernels.conv2dOut(x, w, b, g), referenceKernels.conv2d(x, w, b, g).out)).toBe(true);
      expect(bitwiseEqual(fastKernels.conv2dOut(x, w, b, g), fastKernels.conv2d(x, w, b, g).out)).toBe(true);
    }
  });
});

describe('fast im2col equals reference', () => {
  it('im2col is bit-identical for filters 1..11 wide, stride 1..3 and pad 0..5 on generated inputs', () => {
    fc.assert(
      fc.property(convGeometryArb({ maxBatch: 2, maxChannels: 2, maxInput: 13, maxFilter: 11, maxPad: 5 }), fc.nat(1000), ({ xShape, geometry: g }, seed) => {
        const x = fill(seed, xShape);
        expect(bitwiseEqual(fastKernels.im2col(x, g), referenceKernels.im2col(x, g))).toBe(true);
      }),
      { seed: 42, numRuns: 80 },
    );
  });
});

describe('maxPool2dOut equals maxPool2d(...).out', () => {
  // windows of every size up to 3 (the lesson's 2x2 stride 2 among them, which runs in wasm), with NaN and ties
  const poolCase = fc.record({
    c: convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 12, maxFilter: 3, maxPad: 1 }),
    seed: fc.nat(1000),
  });
  const withSpecials = (t: Tensor, seed: number): Tensor => {
    const d = Float32Array.from(t.data, (v, i) => ((i + seed) % 11 === 0 ? Number.NaN : (i + seed) % 7 === 0 ? 0.5 : v));
    return fromData(t.shape, d);
  };

  it('fast and reference maxPool2dOut are bit-identical to their maxPool2d(...).out on generated windows, NaN and ties included', () => {
    fc.assert(
      fc.property(poolCase, ({ c, seed }) => {
        const { xShape, geometry: g } = c;
        fc.pre(2 * g.pad <= g.filterH && 2 * g.pad <= g.filterW); // pooling layers allow pad <= size / 2
        const x = withSpecials(fill(seed, xShape), seed);
        expect(bitwiseEqual(fastKernels.maxPool2dOut(x, g), fastKernels.maxPool2d(x, g).out)).toBe(true);
        expect(bitwiseEqual(referenceKernels.maxPool2dOut(x, g), referenceKernels.maxPool2d(x, g).out)).toBe(true);
      }),
      { seed: 42, numRuns: 80 },
    );
  });

  it('maxPool2dOut x=[2,3,8,10] 2x2 stride 2 (the lesson pool, in wasm) on both kernel sets gives the same values', () => {
    const x = withSpecials(fill(3, [2, 3, 8, 10]), 3);
    const g = convGeometry('test', { inH: 8, inW: 10, filterH: 2, stride: 2, pad: 0 });
    const f = fastKernels.maxPool2dOut(x, g);
    const r = referenceKernels.maxPool2dOut(x, g);
    expect(f.shape).toEqual([2, 3, 4, 5]);
    expect(Array.from(f.data).every((v, i) => Object.is(v, r.data[i]))).toBe(true);
  });
});

describe('conv2dBackwardFromInput equals conv2dBackward with the kept col', () => {
  const convCase = fc.record({
    c: convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 10, maxFilter: 5, maxPad: 2 }),
    FN: fc.integer({ min: 1, max: 11 }),
    needDx: fc.boolean(),
    seed: fc.nat(1000),
  });

  it('fast: bit-identical dx, dw, db to conv2dBackward(dy, col) on generated geometries, and close to reference', () => {
    fc.assert(
      fc.property(convCase, ({ c, FN, needDx, seed }) => {
        const { xShape, geometry: g } = c;
        const x = fill(seed, xShape);
        const w = fill(seed + 1, [FN, xShape[1], g.filterH, g.filterW]);
        const dy = fill(seed + 2, [xShape[0], FN, g.outH, g.outW]);
        const col = fastKernels.conv2d(x, w, fill(seed + 3, [FN]), g).col;
        const f = fastKernels.conv2dBackwardFromInput(dy, x, w, g, needDx);
        const kept = fastKernels.conv2dBackward(dy, col, w, xShape, g, needDx);
        expect(bitwiseEqual(f.dw, kept.dw) && bitwiseEqual(f.db!, kept.db!)).toBe(true);
        expect(f.dx === undefined).toBe(!needDx);
        if (f.dx !== undefined && kept.dx !== undefined) expect(bitwiseEqual(f.dx, kept.dx)).toBe(true);
        const r = referenceKernels.conv2dBackwardFromInput(dy, x, w, g, needDx);
        const R = xShape[0] * g.outH * g.outW;
        const dwClose = closeTo(f.dw, r.dw, { rtol: 1e-5, atol: 2e-6 * (R + 1) });
        expect(dwClose.ok, `dw x=[${xShape}] w=[${w.shape}] stride=${g.stride} pad=${g.pad}: ${dwClose.message}`).toBe(true);
        if (f.dx !== undefined && r.dx !== undefined) {
          const dxClose = closeTo(f.dx, r.dx, { rtol: 1e-5, atol: 2e-6 * (FN * g.filterH * g.filterW + 1) });
          expect(dxClose.ok, `dx: ${dxClose.message}`).toBe(true);
        }
      }),
      { seed: 42, numRuns: 50 },
    );
  });

  it('reference x=[2,3,7,7] w=[4,3,3,3] stride=2 pad=1 in float64: the same bits as conv2dBackward(dy, im2col(x))', () => {
    const x = uniform(key(11), [2, 3, 7, 7], { dtype: 'float64' });
    const w = uniform(key(12), [4, 3, 3, 3], { dtype: 'float64' });
    const dy = uniform(key(13), [2, 4, 4, 4], { dtype: 'float64' });
    const g = convGeometry('test', { inH: 7, inW: 7, filterH: 3, stride: 2, pad: 1 });
    const a = referenceKernels.conv2dBackwardFromInput(dy, x, w, g, true);
    const b = referenceKernels.conv2dBackward(dy, referenceKernels.im2col(x, g), w, x.shape, g, true);
    expect(a.dx !== undefined && b.dx !== undefined && bitwiseEqual(a.dx, b.dx)).toBe(true);
    expect(bitwiseEqual(a.dw, b.dw) && bitwiseEqual(a.db!, b.db!)).toBe(true);
    expect(bitwiseEqual(fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dw, a.dw)).toBe(true); // float64 runs the reference
  });
});
