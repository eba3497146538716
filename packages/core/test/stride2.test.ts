import { composedFusions, convGeometry, fastKernels, fromData, fusedKernelsOf, key, referenceKernels, setThreads, startThreads, traceConvPaths, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual, closeTo, convGeometryArb } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setStride2, STRIDE2_NAME, stride2DxPlan, stride2InputGrad, stride2Plan } from '../src/fast/stride2.js';

// The input gradient of stride-2 convolutions by phases (src/fast/stride2.ts) against the float64 reference on generated
// shapes (odd and even sizes, 1x1 to 3x3 filters, pad 0 and 1, odd channel counts), against the GEMM path it replaces,
// which layers take it (resnet's 28x28 -> 14x14 ones, not its 14x14 -> 7x7 ones), the shapes it does not take falling
// back, and the same bits at 2 threads as at 1.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const f64 = (t: Tensor): Tensor => fromData(t.shape, Float64Array.from(t.data));

// dx sums at most FN*FH*FW products of values in [-1, 1): float32 rounding is ~FN*FH*FW * 2^-24 at worst
const tolerance = (terms: number): { rtol: number; atol: number } => ({ rtol: 0, atol: 2e-7 * terms + 1e-6 });

/** Expects a float32 dx within the tolerance of `terms` products of the expected one, saying where it is not. */
const expectClose = (got: Tensor | undefined, exact: Tensor | undefined, terms: number): void => {
  if (got === undefined || exact === undefined) throw new Error('dx was asked for');
  const r = closeTo(got, exact, tolerance(terms));
  expect(r.ok, r.message).toBe(true);
};

// stride 2 (the generator draws 1..2), filters 1x1..3x3 of any height and width, pad 0..1, odd and even sizes 1..13
const caseArb = fc.tuple(
  convGeometryArb({ maxBatch: 3, maxChannels: 9, maxInput: 13, maxFilter: 3, maxStride: 2, maxPad: 1 }).filter((c) => c.params.stride === 2),
  fc.integer({ min: 1, max: 11 }),
  fc.nat(1000),
);

const operands = ({ N, C, FN, H, W, FH, FW, pad, seed }: { N: number; C: number; FN: number; H: number; W: number; FH: number; FW: number; pad: number; seed: number }, stride = 2) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: FH, filterW: FW, pad, stride });
  return { g, x: fill(seed, [N, C, H, W]), w: fill(seed + 1, [FN, C, FH, FW]), dy: fill(seed + 2, [N, FN, g.outH, g.outW]) };
};

afterEach(() => {
  setThreads(1);
  setStride2(true);
});

describe('the input gradient of a stride-2 convolution by phases equals the reference', () => {
  it('stride2InputGrad x=[N,C,H,W] w=[FN,C,FH,FW] stride=2 pad 0..1, FH and FW 1..3, H and W 1..13, C 1..9, FN 1..11 (every shape the kernel runs)', () => {
    fc.assert(
      fc.property(caseArb, ([{ xShape: [N, C, H, W], params: { filterH: FH, filterW: FW, pad } }, FN, seed]) => {
        const { g, x, w, dy } = operands({ N, C, FN, H, W, FH, FW, pad, seed });
        const plan = stride2Plan(x.shape, FN, g);
        if (plan === undefined) throw new Error('stride 2, pad 0..1 and filters up to 3x3 have a plan');
        const dx = stride2InputGrad(plan, dy, w);
        expect(dx.shape).toEqual([N, C, H, W]);
        expectClose(dx, referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx, FN * FH * FW);
      }),
      { seed: 22, numRuns: 120 },
    );
  });

  it('conv2dBackwardFromInput on the same shapes: the phases where stride2DxPlan takes them (bit for bit stride2InputGrad), else the GEMM path; dW and db the GEMM path\'s either way', () => {
    fc.assert(
      fc.property(caseArb, ([{ xShape: [N, C, H, W], params: { filterH: FH, filterW: FW, pad } }, FN, seed]) => {
        const { g, x, w, dy } = operands({ N, C, FN, H, W, FH, FW, pad, seed });
        const plan = stride2DxPlan(x.shape, w, g);
        const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true));
        expect(paths.find((p) => p.pass === 'input gradient')?.algorithm).toBe(plan === undefined ? 'GEMM + col2im' : STRIDE2_NAME);
        if (plan !== undefined) expect(result.dx !== undefined && bitwiseEqual(result.dx, stride2InputGrad(plan, dy, w))).toBe(true);
        expectClose(result.dx, referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx, FN * FH * FW);
        setStride2(false);
        const viaGemm = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true);
        setStride2(true);
        expect(bitwiseEqual(result.dw, viaGemm.dw) && bitwiseEqual(result.db!, viaGemm.db!)).toBe(true);
      }),
      { seed: 23, numRuns: 80 },
    );
  });

  it("which of resnet's stride-2 layers take it (batch 100): 28x28 -> 14x14 (14x14 phases) yes, 14x14 -> 7x7 (7x7 phases, 1/8 of their tiles past the pixels) no", () => {
    const at = (C: number, H: number, FN: number, FH: number) => {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: FH, pad: FH === 3 ? 1 : 0, stride: 2 });
      return stride2DxPlan([100, C, H, H], fill(1, [FN, C, FH, FH]), g) !== undefined;
    };
    expect([at(16, 28, 32, 3), at(16, 28, 32, 1), at(32, 14, 64, 3), at(32, 14, 64, 1)]).toEqual([true, true, false, false]);
  });

  it("resnet's downsampling x=[4,16,28,28] w=[32,16,3,3] pad 1 and its shortcut w=[32,16,1,1] pad 0, and conv2dBackward from a kept col", () => {
    for (const FH of [3, 1]) {
      const c = { N: 4, C: 16, FN: 32, H: 28, W: 28, FH, FW: FH, pad: FH === 3 ? 1 : 0, seed: 7 };
      const { g, x, w, dy } = operands(c);
      const fromInput = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
      const fromCol = fastKernels.conv2dBackward(dy, fastKernels.im2col(x, g), w, x.shape, g, true).dx;
      expectClose(fromInput, referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx, 32 * FH * FH);
      expect(fromInput !== undefined && fromCol !== undefined && bitwiseEqual(fromInput, fromCol)).toBe(true);
    }
  });

  it('the fused conv2dReluBackward x=[3,5,16,16] w=[7,5,3,3] stride=2 pad 1 takes it too, as the composition of the reference does', () => {
    const { g, x, w, dy } = operands({ N: 3, C: 5, FN: 7, H: 16, W: 16, FH: 3, FW: 3, pad: 1, seed: 9 });
    const b = fill(10, [7]);
    const out = fusedKernelsOf(fastKernels).conv2dRelu(x, w, b, g);
    const { result, paths } = traceConvPaths(() => fusedKernelsOf(fastKernels).conv2dReluBackward(dy, out, x, w, g, true));
    expect(paths.find((p) => p.pass === 'input gradient')?.algorithm).toBe(STRIDE2_NAME);
    expectClose(result.dx, composedFusions(referenceKernels).conv2dReluBackward(f64(dy), f64(out), f64(x), f64(w), g, true).dx, 63);
  });
});

describe('shapes the phases do not take fall back to the GEMM path', () => {
  const cases: readonly [string, { FH: number; pad: number; stride: number }][] = [
    ['stride 1', { FH: 3, pad: 1, stride: 1 }],
    ['stride 3', { FH: 3, pad: 1, stride: 3 }],
    ['stride 2, pad 2', { FH: 3, pad: 2, stride: 2 }],
    ['stride 2, a 5x5 filter', { FH: 5, pad: 1, stride: 2 }],
  ];
  for (const [name, { FH, pad, stride }] of cases) {
    it(`${name}: x=[2,5,11,10] w=[7,5,${FH},${FH}] pad ${pad} stride ${stride}`, () => {
      const { g, x, w, dy } = operands({ N: 2, C: 5, FN: 7, H: 11, W: 10, FH, FW: FH, pad, seed: 3 }, stride);
      expect(stride2Plan(x.shape, 7, g)).toBeUndefined();
      const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true));
      expect(paths.find((p) => p.pass === 'input gradient')?.algorithm).not.toBe(STRIDE2_NAME);
      expectClose(result.dx, referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx, 7 * FH * FH);
    });
  }

  it('filters with an Infinity and a NaN: x=[2,3,7,8] w=[4,3,3,3] stride 2 pad 1 goes by GEMM + col2im, as the reference places the non-finite values', () => {
    const { g, x, dy } = operands({ N: 2, C: 3, FN: 4, H: 7, W: 8, FH: 3, FW: 3, pad: 1, seed: 5 });
    const data = Float32Array.from(fill(6, [4, 3, 3, 3]).data);
    [data[0], data[40]] = [Infinity, NaN];
    const w = fromData([4, 3, 3, 3], data);
    const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true));
    expect(paths.find((p) => p.pass === 'input gradient')?.algorithm).toBe('GEMM + col2im');
    expectClose(result.dx, referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx, 36);
  });

  it('with the phases turned off (setStride2(false)) a stride-2 input gradient goes by GEMM + col2im', () => {
    setStride2(false);
    const { g, x, w, dy } = operands({ N: 1, C: 3, FN: 4, H: 8, W: 8, FH: 3, FW: 3, pad: 1, seed: 1 });
    const { paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true));
    expect(paths.find((p) => p.pass === 'input gradient')?.algorithm).toBe('GEMM + col2im');
  });
});

describe('the phases split across threads', () => {
  // 48 images (enough work to split) cut into ~16 chunks at 2 threads: each thread copies, convolves and interleaves its own
  // images
  for (const [C, FN, H, W, FH, pad] of [[16, 32, 28, 28, 3, 1], [17, 13, 16, 15, 3, 1], [32, 64, 28, 28, 1, 0]] as const) {
    it(`dx of x=[48,${C},${H},${W}] w=[${FN},${C},${FH},${FH}] stride=2 pad ${pad} gives the same bits at 2 threads as at 1`, () => {
      const { g, x, w, dy } = operands({ N: 48, C, FN, H, W, FH, FW: FH, pad, seed: 4 });
      expect(stride2DxPlan(x.shape, w, g)).toBeDefined();
      setThreads(1);
      const one = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
      setThreads(2);
      startThreads();
      const two = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
      expect(one !== undefined && two !== undefined && bitwiseEqual(one, two)).toBe(true);
    });
  }
});
