import { convGeometry, fastKernels, fromData, fusedKernelsOf, key, referenceKernels, setThreads, startThreads, traceConvPaths, uniform, type ConvGeometry, type Tensor } from '@foldnet/core';
import { bitwiseEqual, closeTo, convGeometryArb } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { setDirectConv } from '../src/fast/kernels.js';
import { setStride2 } from '../src/fast/stride2.js';
import { setWinograd } from '../src/fast/winograd.js';
import { gemmForwardName } from './gemm-names.js';

// The convolution's GEMM paths against what they compute, one GEMM over all N*OH*OW rows (fast matmul) and a layout
// pass, bit for bit: the promise of the paths is those bits. The forward (conv.wat's convImages: a GEMM on the implicit
// im2col over 1, 2 or 4 images at once, then the bias) against im2col(x) . Wᵀ + b; the input gradient by "GEMM + col2im"
// (im2col.wat's gemmCol2imImages: dcol = dRows . W and its col2im image by image, the fold a gather of four pixels at a
// time, or a plain store where no windows overlap) against col2im(dRows . W). Generated shapes of every stride, filter
// and pad (odd channel counts, rows narrower than 4 and not a multiple of 4, 1x1 and 2x2 stride-2 filters whose windows
// do not overlap), more than 256 weights per filter or filters (the GEMM's K blocks), resnet's 14x14 -> 7x7 layers (49
// pixels: 4 images a GEMM), and 2 threads. The packed paths (conv-packed.ts's forward, packed-dx.wat's input gradient
// over four images) promise the same bits and take many of these shapes by default: here each shape goes the way the
// kernels choose; conv-packed.test and packed-dx.test compare them with the paths named above, switched on and off.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const f64 = (t: Tensor): Tensor => fromData(t.shape, Float64Array.from(t.data));

/** col2im(dRows . W): dRows [N*OH*OW, FN] is dy with rows (n, oy, ox), W the filters as [FN, C*FH*FW]. */
const gemmThenCol2im = (dy: Tensor, w: Tensor, xShape: readonly number[], g: ConvGeometry): Tensor => {
  const [N, FN, OH, OW] = dy.shape;
  const P = OH * OW;
  const rows = new Float32Array(N * P * FN);
  for (let n = 0; n < N; n++) for (let f = 0; f < FN; f++) for (let p = 0; p < P; p++) rows[(n * P + p) * FN + f] = dy.data[(n * FN + f) * P + p];
  const dcol = fastKernels.matmul(fromData([N * P, FN], rows), fromData([FN, w.size / FN], Float32Array.from(w.data)), false, false);
  return fastKernels.col2im(dcol, xShape, g);
};

/** im2col(x) . Wᵀ + b as [N, FN, OH, OW]: C rows [N*OH*OW, FN] by one GEMM, then the bias added to each. */
const gemmForward = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor => {
  const [N, FN, P] = [x.shape[0], w.shape[0], g.outH * g.outW];
  const Kc = w.size / FN;
  const rows = fastKernels.matmul(fastKernels.im2col(x, g), fromData([FN, Kc], Float32Array.from(w.data)), false, true).data;
  const out = new Float32Array(N * FN * P);
  for (let n = 0; n < N; n++) for (let f = 0; f < FN; f++) for (let p = 0; p < P; p++) out[(n * FN + f) * P + p] = rows[(n * P + p) * FN + f] + b.data[f];
  return fromData([N, FN, g.outH, g.outW], out);
};

/** The forward with the direct and Winograd paths turned off: its output, the GEMM's bits, and whether it reported the GEMM it took. */
const forwardViaGemm = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): { out: Tensor; named: boolean; expected: Tensor } => {
  setDirectConv(false);
  setWinograd(false);
  const { result, paths } = traceConvPaths(() => fastKernels.conv2dOut(x, w, b, g));
  const named = paths.find((p) => p.pass === 'forward')?.algorithm === gemmForwardName(x.shape, w.shape[0], g);
  return { out: result, named, expected: gemmForward(x, w, b, g) };
};

/** The input gradient with every other path turned off, the algorithm it reports, and the GEMM and col2im's bits. */
const viaGemm = (x: Tensor, w: Tensor, dy: Tensor, g: ConvGeometry): { dx: Tensor; algorithm: string | undefined; expected: Tensor } => {
  setStride2(false);
  setDirectConv(false);
  setWinograd(false);
  const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true));
  if (result.dx === undefined) throw new Error('dx was asked for');
  return { dx: result.dx, algorithm: paths.find((p) => p.pass === 'input gradient')?.algorithm, expected: gemmThenCol2im(dy, w, x.shape, g) };
};

const operands = (N: number, C: number, H: number, W: number, FN: number, FH: number, FW: number, stride: number, pad: number, seed: number) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: FH, filterW: FW, pad, stride });
  return { g, x: fill(seed, [N, C, H, W]), w: fill(seed + 1, [FN, C, FH, FW]), dy: fill(seed + 2, [N, FN, g.outH, g.outW]) };
};

afterEach(() => {
  setThreads(1);
  setStride2(true);
  setDirectConv(true);
  setWinograd(true);
});

describe('the forward by GEMM, images at once, has the bits of one GEMM then the bias', () => {
  it('x=[N,C,H,W] w=[FN,C,FH,FW] stride 1..3 pad 0..2, H and W 1..13, FH and FW 1..3, N 1..9, C 1..9, FN 1..11', () => {
    fc.assert(
      fc.property(
        convGeometryArb({ maxBatch: 9, maxChannels: 9, maxInput: 13, maxFilter: 3, maxStride: 3, maxPad: 2 }),
        fc.integer({ min: 1, max: 11 }),
        fc.nat(1000),
        ({ xShape: [N, C, H, W], params: { filterH: FH, filterW: FW, stride, pad } }, FN, seed) => {
          const { g, x, w } = operands(N, C, H, W, FN, FH, FW, stride, pad, seed);
          const { out, named, expected } = forwardViaGemm(x, w, fill(seed + 3, [FN]), g);
          expect(named).toBe(true);
          expect(bitwiseEqual(out, expected)).toBe(true);
        },
      ),
      { seed: 43, numRuns: 150 },
    );
  });

  const cases: readonly [string, readonly [number, number, number, number, number, number, number, number, number]][] = [
    // N, C, H, W, FN, FH, FW, stride, pad
    ["resnet's res5.conv1 x=[7,32,14,14] w=[64,32,3,3] stride 2 pad 1 (49 pixels: 4 images a GEMM, then 3; 288 weights a filter)", [7, 32, 14, 14, 64, 3, 3, 2, 1]],
    ["resnet's res5 shortcut x=[5,32,14,14] w=[64,32,1,1] stride 2 pad 0", [5, 32, 14, 14, 64, 1, 1, 2, 0]],
    ['6 pixels (2 images a GEMM): x=[5,3,2,11] w=[4,3,2,2] stride 2 pad 0', [5, 3, 2, 11, 4, 2, 2, 2, 0]],
  ];
  for (const [name, [N, C, H, W, FN, FH, FW, stride, pad]] of cases) {
    it(name, () => {
      const { g, x, w } = operands(N, C, H, W, FN, FH, FW, stride, pad, 19);
      const { out, named, expected } = forwardViaGemm(x, w, fill(23, [FN]), g);
      expect(named).toBe(true);
      expect(bitwiseEqual(out, expected)).toBe(true);
    });
  }

  it('with ReLU in its pass (conv2dRelu) x=[7,32,14,14] w=[64,32,3,3] stride 2 pad 1: ReLU on each image of a GEMM', () => {
    const { g, x, w } = operands(7, 32, 14, 14, 64, 3, 3, 2, 1, 29);
    const b = fill(31, [64]);
    const { expected } = forwardViaGemm(x, w, b, g);
    const out = fusedKernelsOf(fastKernels).conv2dRelu(x, w, b, g);
    expect(bitwiseEqual(out, fastKernels.relu(expected))).toBe(true);
  });
});

describe('the input gradient by GEMM + col2im, image by image, has the bits of one GEMM then col2im', () => {
  it('x=[N,C,H,W] w=[FN,C,FH,FW] stride 1..3 pad 0..2, H and W 1..13, FH and FW 1..3, C 1..9, FN 1..11', () => {
    fc.assert(
      fc.property(
        convGeometryArb({ maxBatch: 3, maxChannels: 9, maxInput: 13, maxFilter: 3, maxStride: 3, maxPad: 2 }),
        fc.integer({ min: 1, max: 11 }),
        fc.nat(1000),
        ({ xShape: [N, C, H, W], params: { filterH: FH, filterW: FW, stride, pad } }, FN, seed) => {
          const { g, x, w, dy } = operands(N, C, H, W, FN, FH, FW, stride, pad, seed);
          const { dx, algorithm, expected } = viaGemm(x, w, dy, g);
          expect(algorithm).toBe('GEMM + col2im');
          expect(bitwiseEqual(dx, expected)).toBe(true);
          const r = closeTo(dx, referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx ?? dx, { rtol: 0, atol: 2e-7 * FN * FH * FW + 1e-6 });
          expect(r.ok, r.message).toBe(true);
        },
      ),
      { seed: 41, numRuns: 150 },
    );
  });

  const cases: readonly [string, readonly [number, number, number, number, number, number, number, number, number]][] = [
    // N, C, H, W, FN, FH, FW, stride, pad
    ["resnet's res5.conv1 x=[3,32,14,14] w=[64,32,3,3] stride 2 pad 1 (a gather of four pixels, the last four of a row overlapping)", [3, 32, 14, 14, 64, 3, 3, 2, 1]],
    ["resnet's res5 shortcut x=[3,32,14,14] w=[64,32,1,1] stride 2 pad 0 (windows that do not overlap)", [3, 32, 14, 14, 64, 1, 1, 2, 0]],
    ['2x2 windows that do not overlap, pad 1: x=[2,6,9,11] w=[5,6,2,2] stride 2 pad 1', [2, 6, 9, 11, 5, 2, 2, 2, 1]],
    ['more than 256 filters (two K blocks): x=[2,5,7,9] w=[300,5,3,3] stride 2 pad 1', [2, 5, 7, 9, 300, 3, 3, 2, 1]],
    ['rows narrower than 4 and 3 channels: x=[2,3,3,3] w=[4,3,3,3] stride 1 pad 1', [2, 3, 3, 3, 4, 3, 3, 1, 1]],
  ];
  for (const [name, [N, C, H, W, FN, FH, FW, stride, pad]] of cases) {
    it(name, () => {
      const { g, x, w, dy } = operands(N, C, H, W, FN, FH, FW, stride, pad, 17);
      const { dx, algorithm, expected } = viaGemm(x, w, dy, g);
      expect(algorithm).toBe('GEMM + col2im');
      expect(bitwiseEqual(dx, expected)).toBe(true);
    });
  }

  it('filters with an Infinity and a NaN x=[2,3,7,8] w=[4,3,3,3] stride 2 pad 1: the same NaNs and infinities where the GEMM and col2im put them', () => {
    const { g, x, dy } = operands(2, 3, 7, 8, 4, 3, 3, 2, 1, 5);
    const data = Float32Array.from(fill(6, [4, 3, 3, 3]).data);
    [data[0], data[40]] = [Infinity, NaN];
    const { dx, expected } = viaGemm(x, fromData([4, 3, 3, 3], data), dy, g);
    expect(bitwiseEqual(dx, expected)).toBe(true);
  });
});

describe('split across threads by images', () => {
  // 48 images of resnet's 14x14 -> 7x7 layers: enough work to split, in ~16 chunks at 2 threads, each chunk in its own slot
  for (const FH of [3, 1]) {
    it(`the forward of x=[48,32,14,14] w=[64,32,${FH},${FH}] stride 2 gives the same bits at 2 threads as at 1, those of the GEMM`, () => {
      const { g, x, w } = operands(48, 32, 14, 14, 64, FH, FH, 2, FH === 3 ? 1 : 0, 9);
      const b = fill(12, [64]);
      setThreads(1);
      const one = forwardViaGemm(x, w, b, g);
      setThreads(2);
      startThreads();
      const two = forwardViaGemm(x, w, b, g);
      expect(bitwiseEqual(one.out, one.expected) && bitwiseEqual(two.out, one.out)).toBe(true);
    });

    it(`dx of x=[48,32,14,14] w=[64,32,${FH},${FH}] stride 2 gives the same bits at 2 threads as at 1, those of the GEMM and col2im`, () => {
      const { g, x, w, dy } = operands(48, 32, 14, 14, 64, FH, FH, 2, FH === 3 ? 1 : 0, 8);
      setThreads(1);
      const one = viaGemm(x, w, dy, g);
      setThreads(2);
      startThreads();
      const two = viaGemm(x, w, dy, g);
      expect(bitwiseEqual(one.dx, one.expected) && bitwiseEqual(two.dx, one.dx)).toBe(true);
    });
  }
});
