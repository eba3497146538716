import { convGeometry, fastKernels, fusedKernelsOf, key, setThreads, traceConvPaths, uniform, type ConvGeometry, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { POINTWISE_NAME, setDirectConv, setPointwiseConv } from '../src/fast/kernels.js';
import { gemmForwardName } from './gemm-names.js';
import { untilAWorkerTakesPart } from './workers.js';

// conv.wat's direct path takes a 1x1 convolution (pad 0, any stride) over each image's OH*OW output pixels as one row,
// at stride 2 or more after gathering the pixels (oy*stride, ox*stride) into a [C, OH*OW] panel ($gatherPixels: 4 at
// a time from 8 adjacent floats at stride 2 while those lie in the row, the rest one by one), skipping the sums of
// tiles whose inputs are ±0 in every channel as the direct path does. Each output keeps the GEMM path's sum over the
// channels, in the same order from zero, and the bias added last: these tests compare the two bit for bit, with the
// GEMM path forced by setDirectConv(false), which turns the 1x1 path off too.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

afterEach(() => {
  setThreads(1);
  setDirectConv(true);
  setPointwiseConv(true);
});

/** conv2dOut, conv2dRelu and (when the output has a 2x2 window) conv2dReluMaxPool, and the forward's algorithm. */
const forwards = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry) => {
  const pool = g.outH >= 2 && g.outW >= 2 ? convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, stride: 2 }) : undefined;
  const fused = fusedKernelsOf(fastKernels);
  const { result, paths } = traceConvPaths(() => ({
    out: fastKernels.conv2dOut(x, w, b, g),
    relu: fused.conv2dRelu(x, w, b, g),
    pooled: pool === undefined ? undefined : fused.conv2dReluMaxPool(x, w, b, g, pool, true),
  }));
  return { ...result, algorithm: paths[0]?.algorithm };
};

const expectSameBits = (got: ReturnType<typeof forwards>, want: ReturnType<typeof forwards>, what: string): void => {
  expect(bitwiseEqual(got.out, want.out), `conv2dOut ${what}`).toBe(true);
  expect(bitwiseEqual(got.relu, want.relu), `conv2dRelu ${what}`).toBe(true);
  if (got.pooled !== undefined && want.pooled !== undefined) {
    expect(bitwiseEqual(got.pooled.out, want.pooled.out), `conv2dReluMaxPool ${what}`).toBe(true);
    expect(got.pooled.argmax, `conv2dReluMaxPool's argmax ${what}`).toEqual(want.pooled.argmax);
  }
};

/** The forwards by the GEMM path (the direct paths off), then as the kernels choose. */
const gemmThenChosen = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry) => {
  setDirectConv(false);
  const viaGemm = forwards(x, w, b, g);
  setDirectConv(true);
  return { viaGemm, chosen: forwards(x, w, b, g) };
};

describe('1x1 convolutions by the direct path over their pixels as one row', () => {
  // Generated shapes: C 1..40 and FN 1..70 (panel edges: FN not a multiple of 4, 5 or 8; a row's last tile 4 or 8
  // pixels wide), H and W odd and even (at stride 2 the gather's vector part ends at different places, or never
  // starts: W < 8), strides 1..3 (3: the gather one pixel at a time), pad 0 and 1 (pad 1 does not take the path), P
  // under 8 (falls back), batch 1..9, inputs dense or mostly ±0 (the ReLU and the pool see zeros and ties).
  it('x=[N,C,H,W] w=[FN,C,1,1] stride 1..3 pad 0..1: the bits of the GEMM path, and the path taken exactly where it applies', () => {
    const pointwiseCase = fc.record({
      N: fc.integer({ min: 1, max: 9 }),
      C: fc.oneof(fc.constantFrom(1, 16, 32, 40), fc.integer({ min: 1, max: 40 })),
      FN: fc.oneof(fc.constantFrom(1, 5, 10, 32, 64, 70), fc.integer({ min: 1, max: 70 })),
      H: fc.integer({ min: 1, max: 20 }),
      W: fc.integer({ min: 1, max: 20 }),
      stride: fc.integer({ min: 1, max: 3 }),
      pad: fc.integer({ min: 0, max: 1 }),
      sparse: fc.boolean(),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(pointwiseCase, ({ N, C, FN, H, W, stride, pad, sparse, seed }) => {
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 1, stride, pad });
        const x = fill(seed, [N, C, H, W]);
        const xd = x.data as Float32Array;
        if (sparse) xd.forEach((v, i) => (xd[i] = (i * 5 + seed) % 7 === 0 ? v : i % 2 === 0 ? 0 : -0));
        const w = fill(seed + 1, [FN, C, 1, 1]);
        const b = fill(seed + 2, [FN]);
        const what = `x=[${x.shape}] w=[${w.shape}] stride ${stride} pad ${pad} OH ${g.outH} OW ${g.outW}${sparse ? ' (mostly ±0)' : ''}`;
        const { viaGemm, chosen } = gemmThenChosen(x, w, b, g);
        expect(viaGemm.algorithm, what).toBe(gemmForwardName(x.shape, FN, g));
        expect(chosen.algorithm === POINTWISE_NAME, what).toBe(pad === 0 && g.outH * g.outW >= 8);
        expectSameBits(chosen, viaGemm, what);
      }),
      { seed: 15, numRuns: 150 },
    );
  });

  // The zero check (finite weights: a tile whose 8 pixels are ±0 in every channel skips its sums, which would be +0)
  // must see every channel and pixel of a tile: one nonzero input in a field of +0 and -0, anywhere (so in the first
  // and last channel, the last 4-pixel tile, a gathered pixel at stride 2 or one the gather skips), against the GEMM.
  it('a single nonzero input anywhere is seen by the zero check: the bits of the GEMM path', () => {
    const oneCase = fc.record({
      N: fc.integer({ min: 1, max: 2 }),
      C: fc.integer({ min: 1, max: 40 }),
      FN: fc.constantFrom(1, 3, 6, 10, 33),
      H: fc.integer({ min: 1, max: 16 }),
      W: fc.integer({ min: 1, max: 16 }),
      stride: fc.integer({ min: 1, max: 2 }),
      at: fc.nat(),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(oneCase, ({ N, C, FN, H, W, stride, at, seed }) => {
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 1, stride, pad: 0 });
        fc.pre(g.outH * g.outW >= 8);
        const x = fill(seed, [N, C, H, W]);
        const xd = x.data as Float32Array;
        const keep = at % xd.length;
        xd.forEach((_, i) => (xd[i] = i === keep ? 0.75 : i % 3 === 0 ? -0 : 0));
        const w = fill(seed + 1, [FN, C, 1, 1]);
        const b = fill(seed + 2, [FN]);
        const what = `x=[${x.shape}] nonzero at ${keep} w=[${w.shape}] stride ${stride}`;
        const { viaGemm, chosen } = gemmThenChosen(x, w, b, g);
        expect(chosen.algorithm, what).toBe(POINTWISE_NAME);
        expectSameBits(chosen, viaGemm, what);
      }),
      { seed: 16, numRuns: 150 },
    );
  });

  it('more than 256 channels (the GEMM blocks its sums by 256) and P under 8 leave the path; setPointwiseConv(false) turns it off', () => {
    const cases = [
      // pointwise false: by a GEMM (over packed panels where OW >= 4)
      { x: fill(1, [2, 257, 4, 4]), stride: 1, pointwise: false },
      { x: fill(2, [2, 3, 4, 4]), stride: 2, pointwise: false },
      { x: fill(3, [2, 3, 7, 1]), stride: 1, pointwise: false },
      { x: fill(4, [2, 256, 4, 4]), stride: 1, pointwise: true },
    ];
    for (const { x, stride, pointwise } of cases) {
      const [, C, H, W] = x.shape;
      const g = convGeometry('conv', { inH: H, inW: W, filterH: 1, stride, pad: 0 });
      const w = fill(5, [6, C, 1, 1]);
      const b = fill(6, [6]);
      const { viaGemm, chosen } = gemmThenChosen(x, w, b, g);
      expect(chosen.algorithm, `x=[${x.shape}] stride ${stride}`).toBe(pointwise ? POINTWISE_NAME : gemmForwardName(x.shape, 6, g));
      expectSameBits(chosen, viaGemm, `x=[${x.shape}] stride ${stride}`);
    }
    // off: a stride-1 1x1 convolution with 8 output columns goes by rows, a strided one by the GEMM
    setPointwiseConv(false);
    const rows = convGeometry('conv', { inH: 3, inW: 8, filterH: 1, pad: 0 });
    expect(forwards(fill(7, [1, 2, 3, 8]), fill(8, [3, 2, 1, 1]), fill(9, [3]), rows).algorithm).toBe('direct');
    const strided = convGeometry('conv', { inH: 8, inW: 8, filterH: 1, stride: 2, pad: 0 });
    expect(forwards(fill(7, [1, 2, 8, 8]), fill(8, [3, 2, 1, 1]), fill(9, [3]), strided).algorithm).toBe(gemmForwardName([1, 2, 8, 8], 3, strided));
  });

  // resnet's shortcuts (16 -> 32 from 28x28, 32 -> 64 from 14x14, stride 2) on enough images that a worker takes some:
  // the bits of the GEMM path at 1 thread and at 2.
  it("resnet's stride-2 shortcuts: the GEMM path's bits at 1 thread and at 2, with a worker taking part", () => {
    for (const [C, HW, FN] of [[16, 28, 32], [32, 14, 64]]) {
      const x = fill(C, [64, C, HW, HW]);
      const w = fill(C + 1, [FN, C, 1, 1]);
      const b = fill(C + 2, [FN]);
      const g = convGeometry('conv', { inH: HW, inW: HW, filterH: 1, stride: 2, pad: 0 });
      const what = `x=[${x.shape}] w=[${w.shape}] stride 2`;
      const { viaGemm, chosen } = gemmThenChosen(x, w, b, g);
      expect(chosen.algorithm, what).toBe(POINTWISE_NAME);
      expectSameBits(chosen, viaGemm, what);
      untilAWorkerTakesPart(() => expectSameBits(forwards(x, w, b, g), viaGemm, `${what}, 2 threads`));
    }
  });
});
