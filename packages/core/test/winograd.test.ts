import { composedFusions, convGeometry, fastKernels, fromData, fusedKernelsOf, key, normal, referenceKernels, setThreads, split, startThreads, traceConvPaths, uniform, type ConvGeometry, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setWinograd, winogradConv, winogradDwPlan, winogradDwPlanOf, winogradDxPlan, winogradFilterGrad, winogradInputGrad, winogradPlan } from '../src/fast/winograd.js';

// Winograd F(2x2, 3x3) and F(4x4, 3x3) (src/fast/winograd.ts) against the float64 reference: forward, the fused forwards,
// the input gradient and the filter gradient, on generated shapes (odd sizes give partial tiles), which variant each
// layer of the presets takes, and the shapes it does not take falling back.

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
// F(4x4, 3x3)'s transforms multiply by up to 8 (Aᵀ) and 5 (Bᵀ) and its filters' by 1/24..1/4: its error is 8-15x
// F(2x2, 3x3)'s on these inputs (the realistic-data tests below give the figures)
const toleranceOf = (C: number, m: 2 | 4 | undefined): number => (m === 4 ? 4 : 1) * tolerance(C);

/** Generated cases with at least `minC` input and `minK` output channels (Winograd takes the forward and the input gradient from 16 input channels). */
const shapeArbFrom = (minC: number, minK = 8) => fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  C: fc.integer({ min: minC, max: minC + 12 }),
  K: fc.integer({ min: minK, max: minK + 12 }),
  H: fc.integer({ min: 1, max: 19 }),
  W: fc.integer({ min: 1, max: 19 }),
  pad: fc.integer({ min: 0, max: 2 }),
  seed: fc.nat(1000),
});
const shapeArb = shapeArbFrom(16);

afterEach(() => {
  setThreads(1);
  setWinograd(true);
});

describe('winograd conv2d equals the reference', () => {
  it('conv2dOut x=[N,C,H,W] w=[K,C,3,3] stride=1 pad 0..2, C 16..28, K 8..20, H and W 1..19 (odd: partial tiles)', () => {
    fc.assert(
      fc.property(shapeArb, ({ N, C, K, H, W, pad, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K])];
        const plan = winogradPlan(x.shape, K, g);
        expect(plan).toBeDefined();
        const got = fastKernels.conv2dOut(x, w, b, g);
        const exact = referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
        expect(got.shape).toEqual(exact.shape);
        expect(errorOf(got, exact).abs).toBeLessThan(toleranceOf(C, plan?.m));
      }),
      { seed: 20, numRuns: 60 },
    );
  });
});

/** Generated cases with odd channel counts too (C 16..28 and K 8..20 take odd values), any pad 0..2, H and W 1..19. */
const forcedCase = fc.tuple(shapeArb, fc.constantFrom(2 as const, 4 as const), fc.boolean());

describe('winograd F(2x2,3x3) and F(4x4,3x3) each equal the reference, whichever the plan would choose', () => {
  it('forward x=[N,C,H,W] w=[K,C,3,3] stride=1 pad 0..2, bias, with and without the fused ReLU, H and W 1..19 (partial tiles at the right and bottom, not multiples of 4; F(4x4,3x3)\'s tiles side by side or 2x2)', () => {
    const groupings = new Set<string>();
    fc.assert(
      fc.property(forcedCase, ([{ N, C, K, H, W, pad, seed }, m, relu]) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        const { g, x, w, b } = caseOf({ N, C, K, H, W, pad, seed });
        const plan = winogradPlan(x.shape, K, g, 'forward', m);
        if (plan === undefined) throw new Error('no plan');
        expect(plan.m).toBe(m);
        groupings.add(`${m},${plan.groupRows}`);
        const exact = relu ? refFused.conv2dRelu(f64(x), f64(w), f64(b), g) : referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
        const got = winogradConv(plan, x, w, b, relu);
        expect(got.shape).toEqual(exact.shape);
        expect(errorOf(got, exact).abs).toBeLessThan(toleranceOf(C, m));
        // the fused ReLU: exactly the ReLU of the output without it
        if (relu) expect(bitwiseEqual(got, fastKernels.relu(winogradConv(plan, x, w, b, false)))).toBe(true);
      }),
      { seed: 26, numRuns: 80 },
    );
    expect([...groupings].sort()).toEqual(['2,1', '4,1', '4,2']);
  });

  it('input gradient dx of x=[N,C,H,W] w=[K,C,3,3] stride=1 pad 0..2 (the turned filters padded by 2 - pad), H and W 1..19', () => {
    fc.assert(
      fc.property(forcedCase, ([{ N, C, K, H, W, pad, seed }, m]) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        // dx's convolution takes dy's K channels (8..20) to x's C (16..28), as the plan asks
        const { g, x, w, dy } = caseOf({ N, C, K, H, W, pad, seed });
        const plan = winogradDxPlan(dy.shape, x.shape, g, m);
        if (plan === undefined) throw new Error('no plan');
        const exact = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx;
        if (exact === undefined) throw new Error('no dx');
        const got = winogradInputGrad(plan, dy, w);
        expect(got.shape).toEqual(x.shape);
        // dx sums 9K products of dy and w
        expect(errorOf(got, exact).abs).toBeLessThan(toleranceOf(K, m));
      }),
      { seed: 27, numRuns: 60 },
    );
  });
});

/** Shapes and operands of one generated case. */
const caseOf = ({ N, C, K, H, W, pad, seed }: { N: number; C: number; K: number; H: number; W: number; pad: number; seed: number }) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
  const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K])];
  return { g, x, w, b, dy: fill(seed + 3, [N, K, g.outH, g.outW]) };
};
const refFused = composedFusions(referenceKernels);
const fastFused = fusedKernelsOf(fastKernels);

describe('winograd in the fused forwards and the input gradient equals the reference', () => {
  it('conv2dRelu and conv2dReluMaxPool (2x2 pool) x=[N,C,H,W] w=[K,C,3,3] pad 1, even H and W', () => {
    fc.assert(
      fc.property(shapeArb, ({ N, C, K, H, W, seed }) => {
        const [He, We] = [2 + 2 * (H >> 1), 2 + 2 * (W >> 1)];
        const { g, x, w, b } = caseOf({ N, C, K, H: He, W: We, pad: 1, seed });
        const pool = convGeometry('pool', { inH: He, inW: We, filterH: 2, stride: 2 });
        const exact = refFused.conv2dRelu(f64(x), f64(w), f64(b), g);
        const m = winogradPlan(x.shape, K, g)?.m;
        expect(errorOf(fastFused.conv2dRelu(x, w, b, g), exact).abs).toBeLessThan(toleranceOf(C, m));
        const pooled = fastFused.conv2dReluMaxPool(x, w, b, g, pool, true);
        const exactPooled = refFused.conv2dReluMaxPool(f64(x), f64(w), f64(b), g, pool, true);
        expect(errorOf(pooled.out, exactPooled.out).abs).toBeLessThan(toleranceOf(C, m));
        // ReLU before the pool in the fused kernel: the same bits as the composition with ReLU after it
        const composed = fastKernels.relu(fastKernels.maxPool2d(fastKernels.conv2dOut(x, w, b, g), pool).out);
        expect(bitwiseEqual(pooled.out, composed)).toBe(true);
        expect(bitwiseEqual(fastFused.conv2dReluMaxPool(x, w, b, g, pool, false).out, composed)).toBe(true);
      }),
      { seed: 21, numRuns: 30 },
    );
  });

  it('conv2dBackwardFromInput and conv2dBackward dx by Winograd, C 16..28, K 8..20, pad 0..2 (the turned filters padded by 2 - pad), dW and db within tolerance', () => {
    fc.assert(
      fc.property(shapeArb, ({ N, C, K, H, W, pad, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        const { g, x, w, dy } = caseOf({ N, C, K, H, W, pad, seed });
        const m = winogradDxPlan(dy.shape, x.shape, g)?.m;
        expect(m).toBeDefined();
        const exact = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true);
        const fromInput = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true);
        const fromCol = fastKernels.conv2dBackward(dy, fastKernels.im2col(x, g), w, x.shape, g, true);
        for (const got of [fromInput, fromCol]) {
          expect(got.dx?.shape).toEqual(x.shape);
          if (got.dx === undefined || exact.dx === undefined) throw new Error('no dx');
          // dx sums 9K products of dy and w
          expect(errorOf(got.dx, exact.dx).abs).toBeLessThan(toleranceOf(K, m));
          expect(errorOf(got.dw, exact.dw).abs).toBeLessThan(tolerance(N * g.outH * g.outW / 9));
          expect(errorOf(got.db!, exact.db!).abs).toBeLessThan(tolerance(N * g.outH * g.outW / 9));
        }
      }),
      { seed: 22, numRuns: 40 },
    );
  });

  it('conv2dReluBackward and conv2dReluMaxPoolBackward dx by Winograd x=[2,16,10,12] w=[12,16,3,3] pad 1', () => {
    const { g, x, w, b } = caseOf({ N: 2, C: 16, K: 12, H: 10, W: 12, pad: 1, seed: 5 });
    const out = fastFused.conv2dRelu(x, w, b, g);
    const dy = fill(9, out.shape);
    const got = fastFused.conv2dReluBackward(dy, out, x, w, g, true);
    const exact = refFused.conv2dReluBackward(f64(dy), f64(out), f64(x), f64(w), g, true);
    if (got.dx === undefined || exact.dx === undefined) throw new Error('no dx');
    // dy [2,12,10,12]: F(4x4,3x3) takes 0.68x F(2x2,3x3)'s products
    expect(winogradDxPlan(dy.shape, x.shape, g)?.m).toBe(4);
    expect(errorOf(got.dx, exact.dx).abs).toBeLessThan(toleranceOf(12, 4));
    const pool = convGeometry('pool', { inH: 10, inW: 12, filterH: 2, stride: 2 });
    const pooled = fastFused.conv2dReluMaxPool(x, w, b, g, pool, true);
    const dp = fill(10, pooled.out.shape);
    const convShape = [2, 12, 10, 12];
    const gotP = fastFused.conv2dReluMaxPoolBackward(dp, pooled.out, pooled.argmax, x, w, g, convShape, true);
    // the reference's own forward and pullback: the Winograd pool's argmax differs only where nothing is above 0
    const refPooled = refFused.conv2dReluMaxPool(f64(x), f64(w), f64(b), g, pool, true);
    const exactP = refFused.conv2dReluMaxPoolBackward(f64(dp), refPooled.out, refPooled.argmax, f64(x), f64(w), g, convShape, true);
    if (gotP.dx === undefined || exactP.dx === undefined) throw new Error('no dx');
    expect(errorOf(gotP.dx, exactP.dx).abs).toBeLessThan(toleranceOf(12, 4));
    expect(errorOf(gotP.dw, exactP.dw).abs).toBeLessThan(tolerance(2 * 10 * 12 / 9));
  });
});

/** Generated cases of the filter gradient: C and K from 16, not all multiples of 4 or 2 (the kernel pads them). */
const dwCase = shapeArbFrom(16, 16);

describe('winograd filter gradient equals the reference', () => {
  it('the kernels F(2x2,3x3) and F(4x4,3x3) (its tiles side by side or 2x2): dW of x=[N,C,H,W] w=[K,C,3,3] stride=1 pad 0..2, C and K 16..28 (K not a multiple of 4, C odd), H and W 1..19 (partial tiles at the right and bottom)', () => {
    const groupings = new Set<string>();
    fc.assert(
      fc.property(dwCase, fc.constantFrom(2 as const, 4 as const), ({ N, C, K, H, W, pad, seed }, m) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        const { g, x, w, dy } = caseOf({ N, C, K, H, W, pad, seed });
        const plan = winogradDwPlanOf(x.shape, K, g, m);
        if (plan === undefined) throw new Error('no plan');
        groupings.add(`${m},${plan.groupRows}`);
        const exact = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, false);
        const got = winogradFilterGrad(plan, x, dy);
        expect(got.shape).toEqual(exact.dw.shape);
        // each dW element sums N*OH*OW products
        expect(errorOf(got, exact.dw).abs).toBeLessThan(tolerance((N * g.outH * g.outW) / 9));
      }),
      { seed: 24, numRuns: 80 },
    );
    expect([...groupings].sort()).toEqual(['2,1', '4,1', '4,2']);
  });

  it('conv2dBackwardFromInput, conv2dReluBackward (with and without dx): dW by Winograd where winogradDwPlan takes the shape, db unchanged', () => {
    fc.assert(
      fc.property(dwCase, fc.boolean(), ({ N, C, K, H, W, pad, seed }, needDx) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        const { g, x, w, b, dy } = caseOf({ N, C, K, H, W, pad, seed });
        const exact = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, needDx);
        const got = fastKernels.conv2dBackwardFromInput(dy, x, w, g, needDx);
        expect(errorOf(got.dw, exact.dw).abs).toBeLessThan(tolerance((N * g.outH * g.outW) / 9));
        expect(got.dx === undefined).toBe(!needDx);
        setWinograd(false);
        const viaGemm = fastKernels.conv2dBackwardFromInput(dy, x, w, g, needDx);
        expect(bitwiseEqual(got.db!, viaGemm.db!)).toBe(true);
        // taken or not, the filter gradient of ReLU's pullback composed with the convolution's
        const out = fastFused.conv2dRelu(x, w, b, g);
        const fused = fastFused.conv2dReluBackward(dy, out, x, w, g, needDx);
        setWinograd(true);
        const fusedWino = fastFused.conv2dReluBackward(dy, out, x, w, g, needDx);
        const exactFused = refFused.conv2dReluBackward(f64(dy), f64(out), f64(x), f64(w), g, needDx);
        for (const r of [fused, fusedWino]) expect(errorOf(r.dw, exactFused.dw).abs).toBeLessThan(tolerance((N * g.outH * g.outW) / 9));
        expect(bitwiseEqual(fusedWino.db!, fused.db!)).toBe(true);
      }),
      { seed: 25, numRuns: 40 },
    );
  });

  it('which variant winogradDwPlan takes: F(4x4,3x3) with its tiles side by side at 28x28, 14x14 and 16x16 and 2x2 at 8x8 and 7x7 (deep conv5, conv6, resnet stage 3), F(2x2,3x3) at 4x8, none at 1x8 (the tiles waste too much), with 8 or 4 channels, stride 2 or 5x5', () => {
    const at = (H: number, F = 3, stride = 1, W = H) => convGeometry('conv', { inH: H, inW: W, filterH: F, stride, pad: (F - 1) / 2 });
    const plan = (C: number, K: number, H: number, F = 3, stride = 1, W = H) => {
      const g = at(H, F, stride, W);
      return winogradDwPlan([100, K, g.outH, g.outW], [100, C, H, W], g);
    };
    const variant = (p: ReturnType<typeof plan>) => (p === undefined ? undefined : [p.m, p.groupRows]);
    expect(variant(plan(16, 16, 28))).toEqual([4, 1]);
    expect(variant(plan(16, 32, 14))).toEqual([4, 1]);
    expect(variant(plan(32, 32, 14))).toEqual([4, 1]);
    expect(variant(plan(32, 32, 16))).toEqual([4, 1]);
    expect(variant(plan(32, 64, 8))).toEqual([4, 2]);
    expect(variant(plan(64, 64, 8))).toEqual([4, 2]);
    expect(variant(plan(64, 64, 7))).toEqual([4, 2]);
    expect(variant(plan(64, 64, 4, 3, 1, 8))).toEqual([2, 1]);
    expect(plan(64, 64, 1, 3, 1, 8)).toBeUndefined();
    expect(plan(8, 16, 28)).toBeUndefined();
    expect(plan(16, 4, 28)).toBeUndefined();
    expect(plan(16, 16, 28, 3, 2)).toBeUndefined();
    expect(plan(16, 16, 28, 5)).toBeUndefined();
  });

  for (const [what, C, K, H, W] of [['tiles cover 2x the output', 64, 64, 1, 8], ['8 input channels', 8, 16, 12, 12], ['4 filters', 16, 4, 12, 12]] as const) {
    it(`dW of x=[2,${C},${H},${W}] w=[${K},${C},3,3] pad=1 (${what}) keeps the GEMM path, bit for bit`, () => {
      const { g, x, w, dy } = caseOf({ N: 2, C, K, H, W, pad: 1, seed: 6 });
      expect(winogradDwPlan(dy.shape, x.shape, g)).toBeUndefined();
      const on = fastKernels.conv2dBackwardFromInput(dy, x, w, g, false);
      setWinograd(false);
      const off = fastKernels.conv2dBackwardFromInput(dy, x, w, g, false);
      expect(bitwiseEqual(on.dw, off.dw)).toBe(true);
    });
  }

  // [m, groupRows, N, C, K, H, W, shares]: the plan's variant, its tiles cut into several shares, so that the threads run others
  const threaded = [[4, 1, 100, 16, 16, 16, 16, 6], [4, 2, 100, 17, 19, 13, 7, 3], [2, 1, 128, 64, 64, 4, 8, 4]] as const;
  for (const [m, groupRows, N, C, K, H, W, shares] of threaded) {
    it(`dW by F(${m}x${m},3x3) (${groupRows === 1 ? 'tiles side by side' : '2x2 tiles'}) of x=[${N},${C},${H},${W}] w=[${K},${C},3,3] pad 1 (its tiles cut into ${shares} shares) gives the same bits at 2 threads as at 1`, () => {
      const { g, x, w, dy } = caseOf({ N, C, K, H, W, pad: 1, seed: 8 });
      const plan = winogradDwPlan(dy.shape, x.shape, g);
      expect([plan?.m, plan?.groupRows]).toEqual([m, groupRows]);
      setThreads(1);
      const one = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true);
      setThreads(2);
      startThreads();
      const two = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true);
      expect(bitwiseEqual(one.dw, two.dw)).toBe(true);
      expect(bitwiseEqual(one.db!, two.db!)).toBe(true);
    });
  }

  // He-initialised filters, ReLU'd normal activations and a normal dy: dW's error against the float64 reference (the
  // figures in winograd.ts's header). F(2x2,3x3) stays within 2x the GEMM path's; F(4x4,3x3)'s transforms (entries up to 8
  // in A, 5 in Bᵀ) make it ~10x the GEMM's (1.4e-6..6e-6 of the largest element here), still under 1e-5, its tiles side by
  // side or 2x2 alike.
  const realistic = [[16, 16, 28, 1], [32, 32, 14, 1], [32, 32, 16, 1], [32, 64, 8, 2], [64, 64, 8, 2], [64, 64, 7, 2]] as const;
  for (const [C, K, H, groupRows] of realistic) {
    it(`dW x=[8,${C},${H},${H}] w=[${K},${C},3,3] pad 1 on realistic data: by F(4x4,3x3) (the plan's, ${groupRows === 1 ? 'tiles side by side' : '2x2 tiles'}) max relative error < 1e-5, by F(2x2,3x3) < 2x the GEMM path's`, () => {
      const [k1, k2, k3] = split(key(C + 1), 3);
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad: 1 });
      const x = fastKernels.relu(normal(k1, [8, C, H, H], { std: 1 }));
      const w = normal(k2, [K, C, 3, 3], { std: Math.sqrt(2 / (9 * C)) });
      const dy = normal(k3, [8, K, H, H], { std: 1 });
      const plan = winogradDwPlan(dy.shape, x.shape, g);
      expect([plan?.m, plan?.groupRows]).toEqual([4, groupRows]);
      const exact = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, false).dw;
      const four = errorOf(fastKernels.conv2dBackwardFromInput(dy, x, w, g, false).dw, exact);
      const twoPlan = winogradDwPlanOf(x.shape, K, g, 2);
      if (twoPlan === undefined) throw new Error('no plan');
      const two = errorOf(winogradFilterGrad(twoPlan, x, dy), exact);
      setWinograd(false);
      const gemm = errorOf(fastKernels.conv2dBackwardFromInput(dy, x, w, g, false).dw, exact);
      expect(four.rel).toBeLessThan(1e-5);
      expect(two.abs).toBeLessThan(2 * gemm.abs);
    });
  }

  // sha256 of dW's bytes (its first 16 hex digits) from the build before the 2x2 groups (edec8f7), on uniform [-1, 1)
  // inputs: F(2x2,3x3) and F(4x4,3x3) with its tiles side by side keep every bit
  const before: readonly [2 | 4, number, number, number, number, number, number, string][] = [
    [2, 3, 17, 19, 13, 11, 1, 'd2fcbe842232d335'], [2, 2, 64, 64, 8, 8, 1, '9ab9e2852b923124'], [2, 2, 17, 16, 7, 7, 0, '3376da11c94af0bc'],
    [2, 1, 16, 21, 9, 15, 2, '4cdd902cf2e46081'], [4, 2, 16, 16, 28, 28, 1, '23c8f0857f9fbc63'], [4, 3, 17, 21, 19, 13, 2, 'd8203fb58d10d18a'],
    [4, 2, 33, 19, 14, 14, 1, 'cdf9d2ff4401206f'], [4, 1, 16, 17, 5, 23, 0, 'afee5b77d62d186e'],
  ];
  for (const [m, N, C, K, H, W, pad, digest] of before) {
    it(`dW by F(${m}x${m},3x3)${m === 4 ? ' (tiles side by side)' : ''} of x=[${N},${C},${H},${W}] w=[${K},${C},3,3] pad ${pad}: the same bits as the build before 2x2 groups`, () => {
      const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
      const [x, dy] = [fill(1, [N, C, H, W]), fill(2, [N, K, g.outH, g.outW])];
      const plan = winogradDwPlanOf(x.shape, K, g, m);
      if (plan === undefined) throw new Error('no plan');
      expect(plan.groupRows).toBe(1);
      const dw = winogradFilterGrad(plan, x, dy).data;
      expect(createHash('sha256').update(new Uint8Array(dw.buffer, dw.byteOffset, dw.byteLength)).digest('hex').slice(0, 16)).toBe(digest);
    });
  }
});

describe('every path equals the reference on generated geometries, taken by Winograd or not', () => {
  it('conv2dOut and dx x=[N,C,H,W] w=[K,C,F,F], F 1..5, stride 1..2, pad 0..3, C 1..20, K 1..20', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }),
      C: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 8, max: 20 })),
      K: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 8, max: 20 })),
      H: fc.integer({ min: 1, max: 14 }),
      W: fc.integer({ min: 1, max: 14 }),
      F: fc.integer({ min: 1, max: 5 }),
      stride: fc.integer({ min: 1, max: 2 }),
      pad: fc.integer({ min: 0, max: 3 }),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(arb, ({ N, C, K, H, W, F, stride, pad, seed }) => {
        fc.pre(H + 2 * pad >= F && W + 2 * pad >= F);
        const g = convGeometry('conv', { inH: H, inW: W, filterH: F, stride, pad });
        const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, F, F]), fill(seed + 2, [K])];
        const dy = fill(seed + 3, [N, K, g.outH, g.outW]);
        const exact = referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
        expect(errorOf(fastKernels.conv2dOut(x, w, b, g), exact).abs).toBeLessThan(toleranceOf((C * F * F) / 9, winogradPlan(x.shape, K, g)?.m));
        const exactDx = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx;
        const dx = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
        if (dx === undefined || exactDx === undefined) throw new Error('no dx');
        expect(errorOf(dx, exactDx).abs).toBeLessThan(toleranceOf((K * F * F) / 9, winogradDxPlan(dy.shape, x.shape, g)?.m));
      }),
      { seed: 23, numRuns: 80 },
    );
  });
});

describe('shapes Winograd does not take fall back to the other paths, bit for bit', () => {
  const cases: readonly [string, number, number, number, ConvGeometry][] = [
    ['stride 2', 16, 16, 9, convGeometry('conv', { inH: 9, inW: 9, filterH: 3, stride: 2, pad: 1 })],
    ['5x5 filter', 16, 16, 12, convGeometry('conv', { inH: 12, inW: 12, filterH: 5, pad: 2 })],
    ['1 input channel (the stem)', 1, 16, 12, convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 })],
    ['4 input channels', 4, 16, 12, convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 })],
    ['4 filters', 16, 4, 12, convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 })],
    ['10 input channels (DoubleConvNet\'s second convolution)', 10, 20, 12, convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 })],
  ];
  for (const [what, C, K, H, g] of cases) {
    it(`conv2d x=[2,${C},${H},${H}] w=[${K},${C},${g.filterH},${g.filterW}] stride=${g.stride} pad=${g.pad} (${what})`, () => {
      const [x, w, b] = [fill(1, [2, C, H, H]), fill(2, [K, C, g.filterH, g.filterW]), fill(3, [K])];
      const dy = fill(4, [2, K, g.outH, g.outW]);
      expect(winogradPlan(x.shape, K, g)).toBeUndefined();
      const on = [fastKernels.conv2dOut(x, w, b, g), fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx];
      setWinograd(false);
      const off = [fastKernels.conv2dOut(x, w, b, g), fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx];
      on.forEach((t, i) => expect(t !== undefined && bitwiseEqual(t, off[i] ?? t)).toBe(true));
      const exact = referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
      expect(errorOf(on[0] ?? exact, exact).abs).toBeLessThan(tolerance(C * g.filterH * g.filterW / 9));
    });
  }

  it('the fewest channels Winograd takes: x=[2,16,12,12] pad=1 with 4 filters neither the forward nor dx, with 8 both', () => {
    const g = convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 });
    expect(winogradPlan([2, 16, 12, 12], 4, g)).toBeUndefined();
    expect(winogradDxPlan([2, 4, 12, 12], [2, 16, 12, 12], g)).toBeUndefined();
    expect(winogradPlan([2, 16, 12, 12], 8, g)).toBeDefined();
    expect(winogradDxPlan([2, 8, 12, 12], [2, 16, 12, 12], g)).toBeDefined();
  });

  it('the input gradient of a pad-3 convolution (2 - pad < 0) keeps the GEMM path', () => {
    const g = convGeometry('conv', { inH: 6, inW: 6, filterH: 3, pad: 3 });
    expect(winogradDxPlan([1, 16, g.outH, g.outW], [1, 16, 6, 6], g)).toBeUndefined();
  });
});

describe('winograd split across threads', () => {
  // 24 images: 720 groups of F(2x2,3x3) tiles or 240 of F(4x4,3x3), cut into ~16 chunks at 2 threads, so chunks and
  // blocks start at other tiles than at 1 thread
  it('conv2dOut and its input gradient x=[24,16,20,20] w=[16,16,3,3] pad 1 give the same bits at 2 threads as at 1', () => {
    const { g, x, w, b, dy } = caseOf({ N: 24, C: 16, K: 16, H: 20, W: 20, pad: 1, seed: 3 });
    setThreads(1);
    const one = [fastKernels.conv2dOut(x, w, b, g), fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx];
    setThreads(2);
    startThreads();
    const two = [fastKernels.conv2dOut(x, w, b, g), fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx];
    one.forEach((t, i) => expect(t !== undefined && bitwiseEqual(t, two[i] ?? t)).toBe(true));
  });

  for (const [m, H, W, groupRows] of [[2, 21, 19, 1], [4, 21, 19, 2], [4, 28, 27, 1]] as const) {
    it(`F(${m}x${m},3x3) (${groupRows === 1 ? 'tiles side by side' : '2x2 tiles'}) forward with ReLU and dx x=[24,17,${H},${W}] w=[13,17,3,3] pad 1 (odd channels, partial tiles) give the same bits at 2 threads as at 1`, () => {
      const { g, x, w, b, dy } = caseOf({ N: 24, C: 17, K: 13, H, W, pad: 1, seed: 4 });
      const [plan, dxPlan] = [winogradPlan(x.shape, 13, g, 'forward', m), winogradDxPlan(dy.shape, x.shape, g, m)];
      if (plan === undefined || dxPlan === undefined) throw new Error('no plan');
      expect([plan.groupRows, dxPlan.groupRows]).toEqual([groupRows, groupRows]);
      const run = () => [winogradConv(plan, x, w, b, true), winogradInputGrad(dxPlan, dy, w)];
      setThreads(1);
      const one = run();
      setThreads(2);
      startThreads();
      const two = run();
      one.forEach((t, i) => expect(bitwiseEqual(t, two[i])).toBe(true));
    });
  }
});

describe('which variant the plan takes for each 3x3 convolution of the deep and resnet presets (batch 100)', () => {
  // [layer, C, K, H, pad, Winograd's tile size or undefined]: F(4x4,3x3) everywhere for the forward, the input gradient and
  // the filter gradient (winograd.ts, F4_MAX_PRODUCT_SHARE, DW_MAX_PRODUCTS), its tiles side by side at 28x28, 14x14 and
  // 16x16 outputs and 2x2 at 8x8 and 7x7; the stems (1 input channel) and the stride-2 convolutions take none
  const layers: readonly [string, number, number, number, number, 4 | undefined][] = [
    ['deep conv1 (stem: no dx is asked of it)', 1, 16, 28, 1, undefined],
    ['deep conv2', 16, 16, 28, 1, 4],
    ['deep conv3', 16, 32, 14, 1, 4],
    ['deep conv4 (pad 2: 16x16 out)', 32, 32, 14, 2, 4],
    ['deep conv5', 32, 64, 8, 1, 4],
    ['deep conv6', 64, 64, 8, 1, 4],
    ['resnet conv1 (stem: no dx is asked of it)', 1, 16, 28, 1, undefined],
    ['resnet stage 1 (4 convs)', 16, 16, 28, 1, 4],
    ['resnet stage 2 (3 stride-1 convs)', 32, 32, 14, 1, 4],
    ['resnet stage 3 (3 stride-1 convs)', 64, 64, 7, 1, 4],
  ];
  for (const [layer, C, K, H, pad, m] of layers) {
    const groups = H >= 14 ? 'tiles side by side' : '2x2 tiles';
    it(`${layer}: x=[100,${C},${H},${H}] w=[${K},${C},3,3] pad ${pad}: forward, dx and dW ${m === undefined ? 'not by Winograd' : `by F(${m}x${m},3x3), ${groups}`}`, () => {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad });
      const dyShape = [100, K, g.outH, g.outW];
      const plans = [winogradPlan([100, C, H, H], K, g), winogradDxPlan(dyShape, [100, C, H, H], g), winogradDwPlan(dyShape, [100, C, H, H], g)];
      for (const p of plans) expect(p?.m).toBe(m);
      for (const p of plans) if (p !== undefined) expect(p.groupRows).toBe(H >= 14 ? 1 : 2);
    });
  }
  it('F(2x2,3x3) where F(4x4,3x3) would take more products: 4x4, 4x8 and 1x1 outputs', () => {
    for (const [H, W] of [[4, 4], [4, 8], [1, 1]]) {
      const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad: 1 });
      expect(winogradPlan([100, 16, H, W], 16, g)?.m).toBe(2);
    }
  });

  it('traceConvPaths names the variant that ran: F(4x4,3x3) for x=[2,16,28,28] (forward, fused forward with pool, dx), F(2x2,3x3) for x=[2,16,4,4]', () => {
    for (const [H, name] of [[28, 'Winograd F(4x4,3x3)'], [4, 'Winograd F(2x2,3x3)']] as const) {
      const { g, x, w, b, dy } = caseOf({ N: 2, C: 16, K: 16, H, W: H, pad: 1, seed: 9 });
      const pool = convGeometry('pool', { inH: H, inW: H, filterH: 2, stride: 2 });
      const { paths } = traceConvPaths(() => [
        fastKernels.conv2dOut(x, w, b, g),
        fastFused.conv2dReluMaxPool(x, w, b, g, pool, true),
        fastKernels.conv2dBackwardFromInput(dy, x, w, g, true),
      ]);
      const named = paths.filter((p) => p.pass !== 'filter gradient').map((p) => [p.pass, p.algorithm]);
      expect(named).toEqual([['forward', name], ['forward', name], ['input gradient', name]]);
    }
  });

  it('the stride-2 convolutions opening resnet stages 2 and 3 take neither', () => {
    for (const [C, K, H] of [[16, 32, 28], [32, 64, 14]]) {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, stride: 2, pad: 1 });
      expect(winogradPlan([100, C, H, H], K, g)).toBeUndefined();
      expect(winogradDxPlan([100, K, g.outH, g.outW], [100, C, H, H], g)).toBeUndefined();
    }
  });
});

describe('winograd float32 error on realistic data', () => {
  // He-initialised filters and ReLU'd normal activations, as in a trained network's first steps, against the float64
  // reference, relative to the largest element (the figures in winograd.ts's header): F(2x2,3x3) stays within a few
  // times the direct GEMM's (its transforms add roundings of values up to ~4x the inputs); F(4x4,3x3)'s is 10-40x the
  // GEMM's, 2-8e-6 of the largest element, under 1e-5
  for (const [C, K, H, pad] of [[16, 16, 28, 1], [32, 32, 14, 1], [32, 32, 14, 2], [64, 64, 8, 1], [64, 64, 7, 1]] as const) {
    it(`conv2dOut and dx x=[8,${C},${H},${H}] w=[${K},${C},3,3] pad ${pad}: F(2x2,3x3) and F(4x4,3x3) max relative error < 1e-5, F(2x2,3x3)'s < 4x the GEMM path's`, () => {
      const [k1, k2, k3] = split(key(C), 3);
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad });
      const x = fastKernels.relu(normal(k1, [8, C, H, H], { std: 1 }));
      const w = normal(k2, [K, C, 3, 3], { std: Math.sqrt(2 / (9 * C)) });
      const b = fill(7, [K]);
      const dy = normal(k3, [8, K, g.outH, g.outW], { std: 1 });
      const exact = referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
      const exactDx = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx;
      if (exactDx === undefined) throw new Error('no dx');
      const byWinograd = (m: 2 | 4) => {
        const [plan, dxPlan] = [winogradPlan(x.shape, K, g, 'forward', m), winogradDxPlan(dy.shape, x.shape, g, m)];
        if (plan === undefined || dxPlan === undefined) throw new Error('no plan');
        return { out: errorOf(winogradConv(plan, x, w, b, false), exact), dx: errorOf(winogradInputGrad(dxPlan, dy, w), exactDx) };
      };
      const [two, four] = [byWinograd(2), byWinograd(4)];
      setWinograd(false);
      const gDx = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
      if (gDx === undefined) throw new Error('no dx');
      const gemm = { out: errorOf(fastKernels.conv2dOut(x, w, b, g), exact), dx: errorOf(gDx, exactDx) };
      for (const e of [two.out, two.dx, four.out, four.dx]) expect(e.rel).toBeLessThan(1e-5);
      expect(two.out.abs).toBeLessThan(4 * gemm.out.abs);
      expect(two.dx.abs).toBeLessThan(4 * gemm.dx.abs);
    });
  }
});
