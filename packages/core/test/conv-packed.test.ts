import { convGeometry, fastKernels, fromData, fusedKernelsOf, key, setThreads, startThreads, traceConvPaths, uniform, type ConvGeometry, type Tensor } from '@foldnet/core';
import { bitwiseEqual, convGeometryArb } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKED_GEMM_NAME, packedForwardPlan, setPackedForward } from '../src/fast/conv-packed.js';
import { setDirectConv } from '../src/fast/kernels.js';
import { setWinograd } from '../src/fast/winograd.js';

// The forward by a GEMM over packed pixel panels (conv-packed.ts, wasm/conv-packed.wat's convPackedImages) against the
// GEMM on the implicit im2col it replaces (setPackedForward(false)), bit for bit: its promise is those bits. Generated
// shapes of every stride, pad and filter size (odd sizes, rows of 4..7 outputs, FN odd and not a multiple of 8, batches
// of 1 and more: groups of images and a short last group), the K blocks of 256 (Kc = 288, 600), ReLU in the pass,
// filters with an Infinity and a NaN, 2 threads; and which shapes the path takes (FN >= 2, OW >= 4).

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

/** The forward both ways, the direct path and Winograd off (every shape goes by a GEMM): this path's, the old GEMM's, and the algorithm reported. */
const bothWays = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, relu = false): { packed: Tensor; gemm: Tensor; algorithm: string | undefined } => {
  setDirectConv(false);
  setWinograd(false);
  const forward = (): Tensor => (relu ? fusedKernelsOf(fastKernels).conv2dRelu(x, w, b, g) : fastKernels.conv2dOut(x, w, b, g));
  setPackedForward(false);
  const gemm = forward();
  setPackedForward(true);
  const { result: packed, paths } = traceConvPaths(forward);
  return { packed, gemm, algorithm: paths.find((p) => p.pass === 'forward')?.algorithm };
};

/** im2col(x) . Wᵀ + b as [N, FN, OH, OW] by one GEMM (fast matmul: K blocks of 256, as the forward's), then the bias: the sums both paths promise. */
const gemmForward = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor => {
  const [N, FN, P] = [x.shape[0], w.shape[0], g.outH * g.outW];
  const rows = fastKernels.matmul(fastKernels.im2col(x, g), fromData([FN, w.size / FN], Float32Array.from(w.data)), false, true).data;
  const out = new Float32Array(N * FN * P);
  for (let n = 0; n < N; n++) for (let f = 0; f < FN; f++) for (let p = 0; p < P; p++) out[(n * FN + f) * P + p] = rows[(n * P + p) * FN + f] + b.data[f];
  return fromData([N, FN, g.outH, g.outW], out);
};

const operands = (N: number, C: number, H: number, W: number, FN: number, FH: number, FW: number, stride: number, pad: number, seed: number) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: FH, filterW: FW, pad, stride });
  return { g, x: fill(seed, [N, C, H, W]), w: fill(seed + 1, [FN, C, FH, FW]), b: fill(seed + 2, [FN]) };
};

afterEach(() => {
  setThreads(1);
  setPackedForward(true);
  setDirectConv(true);
  setWinograd(true);
});

describe('the forward by packed pixel panels has the bits of the GEMM on the implicit im2col', () => {
  it('x=[N,C,H,W] w=[FN,C,FH,FW] stride 1..3 pad 0..2, H and W 1..17, FH and FW 1..4, N 1..9, C 1..9, FN 1..13: the same bits, the path taken where FN >= 2 and OW >= 4', () => {
    fc.assert(
      fc.property(
        convGeometryArb({ maxBatch: 9, maxChannels: 9, maxInput: 17, maxFilter: 4, maxStride: 3, maxPad: 2 }),
        fc.integer({ min: 1, max: 13 }),
        fc.nat(1000),
        ({ xShape: [N, C, H, W], params: { filterH: FH, filterW: FW, stride, pad } }, FN, seed) => {
          const { g, x, w, b } = operands(N, C, H, W, FN, FH, FW, stride, pad, seed);
          const { packed, gemm, algorithm } = bothWays(x, w, b, g);
          expect(algorithm).toBe(packedForwardPlan(x.shape, FN, g) !== undefined ? PACKED_GEMM_NAME : 'GEMM');
          expect(bitwiseEqual(packed, gemm)).toBe(true);
          expect(packedForwardPlan(x.shape, FN, g) !== undefined).toBe(FN >= 2 && g.outW >= 4);
        },
      ),
      { seed: 47, numRuns: 200 },
    );
  });

  const cases: readonly [string, readonly [number, number, number, number, number, number, number, number, number]][] = [
    // N, C, H, W, FN, FH, FW, stride, pad
    ["resnet's res3.conv1 x=[5,16,28,28] w=[32,16,3,3] stride 2 pad 1 (196 pixels: 2 images a group, then 1)", [5, 16, 28, 28, 32, 3, 3, 2, 1]],
    ["resnet's res5.conv1 x=[7,32,14,14] w=[64,32,3,3] stride 2 pad 1 (49 pixels: 4 images a group, then 3; Kc = 288: two K blocks)", [7, 32, 14, 14, 64, 3, 3, 2, 1]],
    ['Kc = 600 (three K blocks), 5x5 stride 2 pad 2: x=[3,24,13,11] w=[12,24,5,5]', [3, 24, 13, 11, 12, 5, 5, 2, 2]],
    ['stride 1, Kc = 360 (no direct path), odd FN: x=[2,40,9,9] w=[5,40,3,3] stride 1 pad 1', [2, 40, 9, 9, 5, 3, 3, 1, 1]],
    ['one image, FN = 2, rows of 4 outputs: x=[1,3,8,8] w=[2,3,2,2] stride 2 pad 0', [1, 3, 8, 8, 2, 2, 2, 2, 0]],
    ['FN = 33 (a pair recomputed), stride 3 (phases float by float): x=[3,4,17,16] w=[33,4,3,3] stride 3 pad 1', [3, 4, 17, 16, 33, 3, 3, 3, 1]],
    ['pad 9 (stride 2 split by floats, not from x): x=[2,2,5,6] w=[6,2,3,3] stride 2 pad 9', [2, 2, 5, 6, 6, 3, 3, 2, 9]],
  ];
  // (each also against one GEMM over im2col(x): pad 9 is where the GEMM on the implicit im2col once read stale padding)
  for (const [name, [N, C, H, W, FN, FH, FW, stride, pad]] of cases) {
    it(name, () => {
      const { g, x, w, b } = operands(N, C, H, W, FN, FH, FW, stride, pad, 19);
      const { packed, gemm } = bothWays(x, w, b, g);
      expect(packedForwardPlan(x.shape, FN, g)).toBeDefined();
      expect(bitwiseEqual(packed, gemmForward(x, w, b, g))).toBe(true);
      expect(bitwiseEqual(packed, gemm)).toBe(true);
    });
  }

  it('with ReLU in its pass (conv2dRelu) x=[7,32,14,14] w=[64,32,3,3] stride 2 pad 1 and x=[3,16,28,28] w=[32,16,3,3]', () => {
    for (const [N, C, H, FN] of [[7, 32, 14, 64], [3, 16, 28, 32]]) {
      const { g, x, w, b } = operands(N, C, H, H, FN, 3, 3, 2, 1, 29);
      const { packed, gemm } = bothWays(x, w, b, g, true);
      expect(bitwiseEqual(packed, gemm)).toBe(true);
      expect(bitwiseEqual(packed, fastKernels.relu(bothWays(x, w, b, g).gemm))).toBe(true);
    }
  });

  it('filters with an Infinity and a NaN, x with a -0: x=[2,3,7,8] w=[4,3,3,3] stride 2 pad 1: the NaNs, infinities and zeros where the GEMM puts them', () => {
    const { g, x, b } = operands(2, 3, 7, 8, 4, 3, 3, 2, 1, 5);
    const wData = Float32Array.from(fill(6, [4, 3, 3, 3]).data);
    [wData[0], wData[40]] = [Infinity, NaN];
    const xData = Float32Array.from(x.data);
    xData[9] = -0;
    const { packed, gemm } = bothWays(fromData(x.shape, xData), fromData([4, 3, 3, 3], wData), b, g);
    expect(bitwiseEqual(packed, gemm)).toBe(true);
  });

  it('does not take FN = 1, rows of fewer than 4 outputs, or any shape when turned off', () => {
    const g = convGeometry('conv', { inH: 14, inW: 14, filterH: 3, filterW: 3, pad: 1, stride: 2 });
    expect(packedForwardPlan([2, 3, 14, 14], 1, g)).toBeUndefined();
    expect(packedForwardPlan([2, 3, 6, 6], 4, convGeometry('conv', { inH: 6, inW: 6, filterH: 3, filterW: 3, pad: 1, stride: 2 }))).toBeUndefined();
    setPackedForward(false);
    expect(packedForwardPlan([2, 3, 14, 14], 4, g)).toBeUndefined();
  });
});

describe('split across threads by groups of images', () => {
  for (const [C, H, FN] of [[32, 14, 64], [16, 28, 32]]) {
    it(`x=[48,${C},${H},${H}] w=[${FN},${C},3,3] stride 2 pad 1 gives the same bits at 2 threads as at 1, those of the GEMM`, () => {
      const { g, x, w, b } = operands(48, C, H, H, FN, 3, 3, 2, 1, 9);
      setThreads(1);
      const one = bothWays(x, w, b, g);
      setThreads(2);
      startThreads();
      const two = bothWays(x, w, b, g);
      expect(bitwiseEqual(one.packed, one.gemm) && bitwiseEqual(two.packed, one.gemm) && bitwiseEqual(two.gemm, one.gemm)).toBe(true);
    });
  }
});
