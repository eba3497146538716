import { convGeometry, fastKernels, fromData, key, setThreads, startThreads, traceConvPaths, uniform, type ConvGeometry, type Tensor } from '@foldnet/core';
import { bitwiseEqual, convGeometryArb } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { workspace } from '../src/fast/layout.js';
import { PACKED_DX_NAME, packedDxSlotFloats, setDirectConv, setPackedInputGradient } from '../src/fast/kernels.js';
import { setStride2 } from '../src/fast/stride2.js';
import { f32, wasm } from '../src/fast/wasm.js';
import { setWinograd } from '../src/fast/winograd.js';

// The input gradient by GEMM + col2im through packed panels (packed-dx.wat's packedDxImages: dcolᵀ = Wᵀ . dy's panels
// for four images at once by winogradMultiply, then a gather over the four images a vector) against the same pass image
// by image (im2col.wat's gemmCol2imImages, itself checked against one GEMM then col2im in conv-gemm.test.ts), bit for
// bit: generated shapes of every stride, filter and pad (groups of four images and a last one of 1-3, odd channel counts
// and weights a filter, rows narrower than 4), up to 256 filters and past them (where the sums are split in blocks and
// the pass stays image by image), special values, and 2 threads; and which pass is taken: image by image where windows
// do not overlap and where the last group would compute more than an eighth of the images again.

/** The shapes the panels take (kernels.ts's takesPackedDx): see the header. */
const byPanels = (N: number, FN: number, FH: number, FW: number, stride: number): boolean =>
  FN <= 256 && (stride < FH || stride < FW) && N >= 4 && 8 * (Math.ceil(N / 4) * 4 - N) <= N;

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

const operands = (N: number, C: number, H: number, W: number, FN: number, FH: number, FW: number, stride: number, pad: number, seed: number) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: FH, filterW: FW, pad, stride });
  return { g, x: fill(seed, [N, C, H, W]), w: fill(seed + 1, [FN, C, FH, FW]), dy: fill(seed + 2, [N, FN, g.outH, g.outW]) };
};

/** dx by GEMM + col2im (every other path off), by packed panels where they take it or not at all, and whether they did. */
const inputGradient = (x: Tensor, w: Tensor, dy: Tensor, g: ConvGeometry, packed: boolean): { dx: Tensor; byPanels: boolean } => {
  setStride2(false);
  setDirectConv(false);
  setWinograd(false);
  setPackedInputGradient(packed);
  const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true));
  const algorithm = paths.find((p) => p.pass === 'input gradient')?.algorithm;
  expect([PACKED_DX_NAME, 'GEMM + col2im']).toContain(algorithm);
  if (result.dx === undefined) throw new Error('dx was asked for');
  return { dx: result.dx, byPanels: algorithm === PACKED_DX_NAME };
};

/** dx by packed panels and image by image: the same bits, and the panels taken where `expected` says. */
const expectSameBits = (x: Tensor, w: Tensor, dy: Tensor, g: ConvGeometry, expected: boolean): void => {
  const panels = inputGradient(x, w, dy, g, true);
  const images = inputGradient(x, w, dy, g, false);
  expect(panels.byPanels).toBe(expected);
  expect(images.byPanels).toBe(false);
  expect(bitwiseEqual(panels.dx, images.dx)).toBe(true);
};

afterEach(() => {
  setThreads(1);
  setStride2(true);
  setDirectConv(true);
  setWinograd(true);
  setPackedInputGradient(true);
});

describe('the input gradient by packed panels has the bits of GEMM + col2im image by image', () => {
  it('x=[N,C,H,W] w=[FN,C,FH,FW] N 1..26, stride 1..3 pad 0..2, H and W 1..13, FH and FW 1..4, C 1..9, FN 1..11', () => {
    let taken = 0;
    fc.assert(
      fc.property(
        convGeometryArb({ maxBatch: 26, maxChannels: 9, maxInput: 13, maxFilter: 4, maxStride: 3, maxPad: 2 }),
        fc.integer({ min: 1, max: 11 }),
        fc.nat(1000),
        ({ xShape: [N, C, H, W], params: { filterH: FH, filterW: FW, stride, pad } }, FN, seed) => {
          const { g, x, w, dy } = operands(N, C, H, W, FN, FH, FW, stride, pad, seed);
          const expected = byPanels(N, FN, FH, FW, stride);
          expectSameBits(x, w, dy, g, expected);
          if (expected) taken++;
        },
      ),
      { seed: 47, numRuns: 200 },
    );
    // a good share of the generated shapes go by panels
    expect(taken).toBeGreaterThan(40);
  });

  const cases: readonly [string, readonly [number, number, number, number, number, number, number, number, number], boolean][] = [
    // N, C, H, W, FN, FH, FW, stride, pad; by panels
    ["resnet's res5.conv1 x=[11,32,14,14] w=[64,32,3,3] stride 2 pad 1 (two groups of four images, then one of three)", [11, 32, 14, 14, 64, 3, 3, 2, 1], true],
    ["resnet's res5 shortcut x=[8,32,14,14] w=[64,32,1,1] stride 2 pad 0: windows that do not overlap, image by image", [8, 32, 14, 14, 64, 1, 1, 2, 0], false],
    ['2x2 windows that do not overlap: image by image: x=[8,6,9,11] w=[5,6,2,2] stride 2 pad 1', [8, 6, 9, 11, 5, 2, 2, 2, 1], false],
    ['2x2 windows that overlap in rows only: x=[8,6,9,11] w=[5,6,2,1] stride 1 pad 0', [8, 6, 9, 11, 5, 2, 1, 1, 0], true],
    ['256 filters, the deepest sum in one block: x=[8,3,7,9] w=[256,3,3,3] stride 2 pad 1', [8, 3, 7, 9, 256, 3, 3, 2, 1], true],
    ['257 filters: two blocks, image by image: x=[8,3,7,9] w=[257,3,3,3] stride 2 pad 1', [8, 3, 7, 9, 257, 3, 3, 2, 1], false],
    ['300 filters: two blocks, image by image: x=[4,5,7,9] w=[300,5,3,3] stride 2 pad 1', [4, 5, 7, 9, 300, 5, 3, 2, 1], false],
    ['three images: image by image: x=[3,8,14,14] w=[16,8,3,3] stride 2 pad 1', [3, 8, 14, 14, 16, 3, 3, 2, 1], false],
    ['nine images (three lanes past the batch in twelve): image by image: x=[9,8,14,14] w=[16,8,3,3] stride 2 pad 1', [9, 8, 14, 14, 16, 3, 3, 2, 1], false],
    ['25 images (a last group of one): x=[25,8,14,14] w=[16,8,3,3] stride 2 pad 1', [25, 8, 14, 14, 16, 3, 3, 2, 1], true],
    ['odd weights a filter (27) and 5x5 planes: x=[8,3,10,10] w=[9,3,3,3] stride 2 pad 1', [8, 3, 10, 10, 9, 3, 3, 2, 1], true],
    ['rows narrower than 4: x=[4,3,3,3] w=[4,3,3,3] stride 1 pad 1', [4, 3, 3, 3, 4, 3, 3, 1, 1], true],
    ['one filter: x=[4,4,6,7] w=[1,4,3,3] stride 1 pad 3', [4, 4, 6, 7, 1, 3, 3, 1, 3], true],
  ];
  for (const [name, [N, C, H, W, FN, FH, FW, stride, pad], taken] of cases) {
    it(name, () => {
      expect(byPanels(N, FN, FH, FW, stride)).toBe(taken);
      const { g, x, w, dy } = operands(N, C, H, W, FN, FH, FW, stride, pad, 17);
      expectSameBits(x, w, dy, g, taken);
    });
  }

  it('special values: filters with ±Infinity, NaN, -0 and subnormals, dy with -0 and subnormals x=[8,5,9,8] w=[7,5,3,3] stride 2 pad 1', () => {
    const { g, x, w, dy } = operands(8, 5, 9, 8, 7, 3, 3, 2, 1, 5);
    const wd = Float32Array.from(w.data);
    [wd[0], wd[40], wd[77], wd[100], wd[200]] = [Infinity, NaN, -0, 1e-40, -Infinity];
    const dyd = Float32Array.from(dy.data);
    for (let i = 0; i < dyd.length; i += 13) dyd[i] = i % 2 === 0 ? -0 : -3e-39;
    expectSameBits(x, fromData(w.shape, wd), fromData(dy.shape, dyd), g, true);
  });
});

describe('split across threads by groups of four images', () => {
  // 50 images of resnet's 14x14 -> 7x7 layer: 13 groups, the last of two, split in units of one group at 2 threads,
  // with the filter gradient's job run together with them (runTogether); and 5x5 stride-3 windows at 17x16
  for (const [C, H, W, FN, FH, stride, pad] of [[32, 14, 14, 64, 3, 2, 1], [5, 17, 16, 12, 5, 3, 2]]) {
    it(`dx of x=[50,${C},${H},${W}] w=[${FN},${C},${FH},${FH}] stride ${stride} pad ${pad}: the same bits at 2 threads as at 1, and as image by image at 1 and 2`, () => {
      const { g, x, w, dy } = operands(50, C, H, W, FN, FH, FH, stride, pad, 8);
      setThreads(1);
      const one = inputGradient(x, w, dy, g, true);
      const images = inputGradient(x, w, dy, g, false);
      setThreads(2);
      startThreads();
      const two = inputGradient(x, w, dy, g, true);
      const imagesTwo = inputGradient(x, w, dy, g, false);
      expect(one.byPanels && two.byPanels).toBe(true);
      expect(bitwiseEqual(one.dx, images.dx) && bitwiseEqual(two.dx, one.dx) && bitwiseEqual(imagesTwo.dx, one.dx)).toBe(true);
    });
  }
});

/**
 * A float no kernel writes, to find stores outside dx and the slots: finite, so that sums reading it past dy (a kernel
 * computing images past the batch) do not carry it along as a NaN's payload would.
 */
const SENTINEL = Math.fround(-7.25e33);
const bitsOf = (a: Float32Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);

/** col2im(dRows . W): dRows [N*OH*OW, FN] is dy with rows (n, oy, ox), W the filters as [FN, C*FH*FW]. */
const gemmThenCol2im = (dy: Tensor, w: Tensor, xShape: readonly number[], g: ConvGeometry): Tensor => {
  const [N, FN, OH, OW] = dy.shape;
  const P = OH * OW;
  const rows = new Float32Array(N * P * FN);
  for (let n = 0; n < N; n++) for (let f = 0; f < FN; f++) for (let p = 0; p < P; p++) rows[(n * P + p) * FN + f] = dy.data[(n * FN + f) * P + p];
  const dcol = fastKernels.matmul(fromData([N * P, FN], rows), fromData([FN, w.size / FN], Float32Array.from(w.data)), false, false);
  return fastKernels.col2im(dcol, xShape, g);
};

describe('packedDxImages itself, every group size and plane size', () => {
  // the export called directly (whatever takesPackedDx would choose): last groups of 1-3 images; planes of 49, 25, 9 and 33
  // pixels (P mod 4 = 1), 6 (2), 15 (3) and 16 (0), the 1 or 2 pixels past whole pairs of panels by their own kernel where
  // a filter has at least 8 weights (8, 12, 27, 36, 288), else (4) by the pairs; dx against one GEMM then col2im, bit for
  // bit, and nothing written outside dx and the slots
  const cases: readonly (readonly [number, number, number, number, number, number, number, number])[] = [
    // N, C, H, W, FN, F, stride, pad
    [5, 32, 14, 14, 64, 3, 2, 1],
    [6, 3, 10, 10, 9, 3, 2, 1],
    [3, 2, 4, 4, 5, 2, 1, 0],
    [9, 4, 3, 11, 3, 3, 1, 1],
    [2, 3, 2, 7, 4, 2, 1, 0],
    [6, 2, 3, 5, 4, 3, 1, 1],
    [7, 5, 7, 8, 6, 3, 2, 1],
    [5, 1, 6, 6, 3, 2, 1, 0],
  ];
  for (const [N, C, H, W, FN, F, stride, pad] of cases) {
    it(`x=[${N},${C},${H},${W}] w=[${FN},${C},${F},${F}] stride ${stride} pad ${pad}`, () => {
      const { g, x, w, dy } = operands(N, C, H, W, FN, F, F, stride, pad, 31);
      const slotFloats = packedDxSlotFloats(dy.shape, x.shape, g);
      const groups = Math.ceil(N / 4);
      const regions = [dy.size, w.size, groups * slotFloats, x.size];
      // each region and the 64 bytes after it (workspace's gaps) filled with SENTINEL, then dy and W
      const offsets = workspace(regions);
      const end = offsets[3] + 4 * x.size + 64;
      const mem = f32();
      mem.fill(SENTINEL, offsets[0] / 4, end / 4);
      mem.set(dy.data, offsets[0] / 4);
      mem.set(w.data, offsets[1] / 4);
      const [pdy, pw, pslots, pdx] = offsets;
      wasm.packedDxImages(0, groups, N, pdy, FN, pw, pslots, 4 * slotFloats, C, H, W, F, F, stride, pad, g.outH, g.outW, pdx);
      const after = bitsOf(Float32Array.from(mem.subarray(offsets[0] / 4, end / 4)));
      const sentinel = bitsOf(Float32Array.of(SENTINEL))[0];
      // dy and W as they were, the gaps untouched, dx the bits of a GEMM then col2im
      const at = (p: number): number => (p - offsets[0]) / 4;
      expect(bitwiseEqual(fromData(dy.shape, new Float32Array(after.buffer, 0, dy.size).slice()), dy)).toBe(true);
      expect(bitwiseEqual(fromData(w.shape, new Float32Array(after.buffer, 4 * at(pw), w.size).slice()), w)).toBe(true);
      regions.forEach((floats, i) => {
        const gap = after.subarray(at(offsets[i]) + floats, i + 1 < regions.length ? at(offsets[i + 1]) : after.length);
        expect(gap.every((b) => b === sentinel)).toBe(true);
      });
      const dx = fromData(x.shape, new Float32Array(after.buffer, 4 * at(pdx), x.size).slice());
      expect(bitwiseEqual(dx, gemmThenCol2im(dy, w, x.shape, g))).toBe(true);
    });
  }
});
