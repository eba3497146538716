import { convGeometry, fastKernels, fusedKernelsOf, key, referenceKernels, setThreads, traceConvPaths, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual, closeTo } from '@foldnet/core/testing';
import fc from 'fast-check';
import { directNarrowBy5, directRowPairs, setDirectConv, setDirectNarrowBy5, setDirectRowPairs, setPointwiseConv } from '../src/fast/kernels.js';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmForwardName } from './gemm-names.js';
import { untilAWorkerTakesPart } from './workers.js';

// conv.wat's direct convolution takes a row's last 4 pixels (OW mod 8 = 1..4) by 5 filters from panels of 10
// (convDirect4x5) or by 8 from $packB's panels (convDirect4), the last 2 filters when FN mod 4 = 2 over two rows at a
// time (convTile2x2rows), and checks a tile's window for all-zero inputs row by row (FW + 7 floats per filter row). Each output keeps its sum over k in the same order from zero, the bias added last,
// so either way gives the GEMM path's bits: these tests compare them bit for bit on generated shapes.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

/** A stride-1 geometry with OW = 8 + extraW output columns (pad at most filter - 1) and at least one output row. */
const directShape = (filter: number, pad0: number, extraW: number, h: number): { pad: number; W: number; H: number } => {
  const pad = Math.min(pad0, filter - 1);
  return { pad, W: 8 + extraW + filter - 1 - 2 * pad, H: Math.max(h, filter - 2 * pad, 1) };
};

afterEach(() => {
  setThreads(1);
  setDirectConv(true);
  setPointwiseConv(true);
  setDirectNarrowBy5(undefined);
  setDirectRowPairs(true);
});

describe('the direct convolution: a row\'s last 4 pixels by 5 filters, the last 2 filters by row pairs, the zero check by window rows', () => {
  it('directNarrowBy5 takes 5 filters a tile where that computes no more filters than 8, only when a row ends in a 4-pixel tile', () => {
    // DoubleConvNet: conv2's forward (20 filters at 12x12) and its input gradient (10 channels at 12x12)
    expect(directNarrowBy5(20, 12)).toBe(true);
    expect(directNarrowBy5(10, 12)).toBe(true);
    // 16 by 8 computes 16, by 5 computes 20; 8 by 8 computes 8, by 5 computes 10
    expect(directNarrowBy5(16, 12)).toBe(false);
    expect(directNarrowBy5(8, 12)).toBe(false);
    // ties go to 5: 5 accumulators fit the registers
    expect(directNarrowBy5(40, 12)).toBe(true);
    // no 4-pixel tile: OW a multiple of 8, or OW mod 8 past 4 (the last 8-pixel tile overlaps instead)
    expect(directNarrowBy5(10, 24)).toBe(false);
    expect(directNarrowBy5(10, 13)).toBe(false);
    expect(directNarrowBy5(10, 9)).toBe(true);
  });

  it('directRowPairs takes the last 2 filters over row pairs where FN mod 4 = 2 and there are 2 rows or more', () => {
    expect([2, 6, 10, 30].map((FN) => directRowPairs(FN, 24))).toEqual([true, true, true, true]);
    expect([1, 3, 4, 5, 8, 9, 20].map((FN) => directRowPairs(FN, 24))).toEqual([false, false, false, false, false, false, false]);
    expect(directRowPairs(10, 1)).toBe(false);
  });

  // conv2dOut, conv2dRelu and conv2dReluMaxPool: the direct path with the 4-pixel tiles forced by 5 and by 8, against
  // the GEMM path, bit for bit, at 1 and 2 threads; FN across panel edges (not multiples of 4, 5, 8 or 10), OW with
  // and without a 4-pixel tile, images mostly of ±0 (whole tiles skip) with the nonzero values anywhere.
  it('conv2dOut, conv2dRelu, conv2dReluMaxPool: 4-pixel tiles by 5 and by 8 and the GEMM path give the same bits, 1 and 2 threads', () => {
    const directCase = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 1, max: 4 }),
      FN: fc.oneof(fc.constantFrom(1, 4, 5, 6, 9, 10, 11, 15, 19, 20, 21, 29, 30, 31), fc.integer({ min: 1, max: 33 })),
      filter: fc.integer({ min: 1, max: 7 }),
      pad: fc.integer({ min: 0, max: 3 }),
      // OW = 8 + extraW: 8..27, 4-pixel tiles at OW mod 8 = 1..4
      extraW: fc.integer({ min: 0, max: 19 }),
      H: fc.integer({ min: 1, max: 10 }),
      values: fc.constantFrom('uniform', 'zeros'),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(directCase, ({ N, C, FN, filter, pad: p, extraW, H: h, values, seed }) => {
        const { pad, W, H } = directShape(filter, p, extraW, h);
        fc.pre(W >= 1 && C * filter * filter <= 256);
        const g = convGeometry('direct', { inH: H, inW: W, filterH: filter, filterW: filter, stride: 1, pad });
        const x = fill(seed, [N, C, H, W]);
        const xd = x.data as Float32Array;
        if (values === 'zeros') xd.forEach((v, i) => (xd[i] = (i * 7 + seed) % 29 === 0 ? v : i % 2 === 0 ? 0 : -0));
        const w = fill(seed + 1, [FN, C, filter, filter]);
        const b = fill(seed + 2, [FN]);
        const pool = g.outH >= 2 ? convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, filterW: 2, stride: 2, pad: 0 }) : undefined;
        const run = (direct: boolean, by5: boolean | undefined, threads: number, pairs = true) => {
          setDirectConv(direct);
          // 1x1 convolutions by rows too (the input gradient's direct path takes them so), not over their pixels as one row
          setPointwiseConv(false);
          setDirectNarrowBy5(by5);
          setDirectRowPairs(pairs);
          setThreads(threads);
          const fused = fusedKernelsOf(fastKernels);
          const { result, paths } = traceConvPaths(() => ({
            out: fastKernels.conv2dOut(x, w, b, g),
            relu: fused.conv2dRelu(x, w, b, g),
            pooled: pool === undefined ? undefined : fused.conv2dReluMaxPool(x, w, b, g, pool, true),
          }));
          expect(paths.map((q) => q.algorithm)[0]).toBe(direct ? 'direct' : gemmForwardName(x.shape, FN, g));
          return result;
        };
        const viaGemm = run(false, undefined, 1);
        for (const [by5, threads, pairs] of [[true, 1, true], [false, 1, true], [true, 2, true], [false, 2, true], [true, 1, false]] as const) {
          const what = `x=[${x.shape}] w=[${w.shape}] pad ${pad} OH ${g.outH} OW ${g.outW} (${values}), by ${by5 ? 5 : 8}, ${threads} thread(s)${pairs ? '' : ', no row pairs'}`;
          const direct = run(true, by5, threads, pairs);
          expect(bitwiseEqual(direct.out, viaGemm.out), `conv2dOut ${what}`).toBe(true);
          expect(bitwiseEqual(direct.relu, viaGemm.relu), `conv2dRelu ${what}`).toBe(true);
          if (direct.pooled && viaGemm.pooled) {
            expect(bitwiseEqual(direct.pooled.out, viaGemm.pooled.out), `conv2dReluMaxPool ${what}`).toBe(true);
            expect(direct.pooled.argmax).toEqual(viaGemm.pooled.argmax);
          }
        }
      }),
      { seed: 20, numRuns: 50 },
    );
  });

  // The zero check must see every input of a tile's window: one nonzero input in a field of +0 and -0, at any place
  // of the image (so at every tap of some tile: the first and last column of a window row, the last row, the last
  // channel), for every filter width; a tile that skipped wrongly would give the bias alone where the GEMM gives
  // w * x + bias.
  it('a single nonzero input anywhere is seen by the zero check: the direct path equals the GEMM path bit for bit', () => {
    const oneCase = fc.record({
      C: fc.integer({ min: 1, max: 3 }),
      FN: fc.constantFrom(2, 3, 6, 10, 20),
      filter: fc.integer({ min: 1, max: 8 }),
      pad: fc.integer({ min: 0, max: 2 }),
      extraW: fc.integer({ min: 0, max: 12 }),
      H: fc.integer({ min: 1, max: 6 }),
      at: fc.nat(),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(oneCase, ({ C, FN, filter, pad: p, extraW, H: h, at, seed }) => {
        const { pad, W, H } = directShape(filter, p, extraW, h);
        fc.pre(W >= 1 && C * filter * filter <= 256);
        const g = convGeometry('one', { inH: H, inW: W, filterH: filter, filterW: filter, stride: 1, pad });
        const x = fill(seed, [1, C, H, W]);
        const xd = x.data as Float32Array;
        const keep = at % xd.length;
        xd.forEach((_, i) => (xd[i] = i === keep ? 0.75 : i % 3 === 0 ? -0 : 0));
        const w = fill(seed + 1, [FN, C, filter, filter]);
        const b = fill(seed + 2, [FN]);
        setDirectConv(false);
        const want = fastKernels.conv2dOut(x, w, b, g);
        setDirectConv(true);
        for (const [by5, pairs] of [[true, true], [false, true], [true, false]]) {
          setDirectNarrowBy5(by5);
          setDirectRowPairs(pairs);
          const got = fastKernels.conv2dOut(x, w, b, g);
          expect(bitwiseEqual(got, want), `x=[${x.shape}] nonzero at ${keep} w=[${w.shape}] pad ${pad} by ${by5 ? 5 : 8}${pairs ? '' : ', no row pairs'}`).toBe(true);
        }
      }),
      { seed: 21, numRuns: 150 },
    );
  });

  // A row of more than 64 tiles: the zero checks' results are kept as bits for the first 64 tiles only (the row pairs
  // read them); the tiles past those keep their sums. Zero and nonzero tiles on both sides of tile 64, rows of each
  // parity, FN = 2 and 10 (row pairs) against the GEMM path.
  it('rows of more than 64 tiles (OW = 8 * 70 + 3), zero and nonzero tiles past the 64th: the direct path equals the GEMM path bit for bit', () => {
    for (const FN of [2, 10]) {
      for (const filter of [1, 3]) {
        const W = 8 * 70 + 3 + filter - 1;
        const H = 5 + filter - 1;
        const x = fill(FN + filter, [1, 2, H, W]);
        const xd = x.data as Float32Array;
        // nonzero only in tile 2 of row 0 (the first of a pair: a tile 64 places on, zero, must not mark it zero), tiles
        // 60 and 66 of row 1 and tile 60 of row 4; the rest +0
        const tiles = [[2], [60, 66], [], [], [60]];
        xd.forEach((v, i) => {
          const [row, tile] = [Math.floor(i / W) % H, Math.floor((i % W) / 8)];
          xd[i] = (tiles[row] ?? []).includes(tile) ? v : 0;
        });
        const w = fill(7, [FN, 2, filter, filter]);
        const b = fill(8, [FN]);
        const g = convGeometry('wide', { inH: H, inW: W, filterH: filter, filterW: filter, stride: 1, pad: 0 });
        setDirectConv(false);
        const want = fastKernels.conv2dOut(x, w, b, g);
        setDirectConv(true);
        expect(bitwiseEqual(fastKernels.conv2dOut(x, w, b, g), want), `FN ${FN} filter ${filter}`).toBe(true);
      }
    }
  });

  // DoubleConvNet's layers, 32 images (enough work that a worker takes some): conv1 (10 filters 7x7 pad 1 on 28x28: row pairs)
  // and conv2 (20 filters 3x3 pad 1 on 12x12: 4-pixel tiles by 5) fused with ReLU and the pool, and conv2's input
  // gradient (10 channels at 12x12: both); the same bits at 2 threads as at 1, the forwards the GEMM path's.
  it("DoubleConvNet's convolutions and conv2's input gradient: a worker takes part, the bits are the 1-thread ones", () => {
    const fused = fusedKernelsOf(fastKernels);
    const layers = [
      { x: fill(61, [32, 1, 28, 28]), w: fill(62, [10, 1, 7, 7]), pad: 1 },
      { x: fill(63, [32, 10, 12, 12]), w: fill(64, [20, 10, 3, 3]), pad: 1 },
    ];
    for (const { x, w, pad } of layers) {
      const [, , H, W] = x.shape;
      const g = convGeometry('conv', { inH: H, inW: W, filterH: w.shape[2], stride: 1, pad });
      const pg = convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, stride: 2 });
      const b = fill(65, [w.shape[0]]);
      const dy = fill(66, [x.shape[0], w.shape[0], g.outH, g.outW]);
      const what = `x=[${x.shape}] w=[${w.shape}]`;
      setThreads(1);
      setDirectConv(false);
      const viaGemm = fused.conv2dReluMaxPool(x, w, b, g, pg, true).out;
      setDirectConv(true);
      const one = fused.conv2dReluMaxPool(x, w, b, g, pg, true).out;
      expect(bitwiseEqual(one, viaGemm), `${what}: direct against GEMM`).toBe(true);
      const dxOne = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
      untilAWorkerTakesPart(() => {
        expect(bitwiseEqual(fused.conv2dReluMaxPool(x, w, b, g, pg, true).out, one), `${what}: 2 threads`).toBe(true);
        const dx = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
        if (dx !== undefined && dxOne !== undefined) expect(bitwiseEqual(dx, dxOne), `${what}: dx at 2 threads`).toBe(true);
      });
    }
  });

  // dx of a stride-1 convolution by the direct convolution (its output channels are the input's C): the 4-pixel tiles
  // by 5 and by 8 give the same bits, at 1 and 2 threads, and are close to the reference; dy dense or mostly ±0.
  it('the input gradient by the direct convolution: 4-pixel tiles by 5 and by 8, with and without row pairs, give the same bits, 1 and 2 threads, close to the reference', () => {
    const dxCase = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      // up to 11 channels: past that, 3x3 input gradients go by Winograd
      C: fc.oneof(fc.constantFrom(1, 5, 9, 10, 11), fc.integer({ min: 1, max: 11 })),
      FN: fc.integer({ min: 1, max: 20 }),
      filter: fc.constantFrom(1, 2, 3, 5),
      padShare: fc.integer({ min: 0, max: 4 }),
      // W = OW of the turned convolution: 4-pixel tiles at W mod 8 = 1..4
      W: fc.integer({ min: 8, max: 28 }),
      H: fc.integer({ min: 5, max: 12 }),
      sparse: fc.boolean(),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(dxCase, ({ N, C, FN, filter, padShare, W, H, sparse, seed }) => {
        const pad = padShare % filter;
        fc.pre(FN * filter * filter <= 256);
        const g = convGeometry('dx', { inH: H, inW: W, filterH: filter, stride: 1, pad });
        const x = fill(seed, [N, C, H, W]);
        const w = fill(seed + 1, [FN, C, filter, filter]);
        const dy = fill(seed + 3, [N, FN, g.outH, g.outW]);
        const d = dy.data as Float32Array;
        if (sparse) d.forEach((v, i) => (d[i] = (i * 5 + seed) % 13 === 0 ? v : i % 2 === 0 ? 0 : -0));
        const want = referenceKernels.conv2dBackward(dy, referenceKernels.im2col(x, g), w, x.shape, g, true).dx;
        if (want === undefined) throw new Error('the reference gave no dx');
        const runs = ([[true, 1, true], [false, 1, true], [true, 2, true], [false, 2, true], [true, 1, false]] as const).map(([by5, threads, pairs]) => {
          setDirectNarrowBy5(by5);
          setDirectRowPairs(pairs);
          setThreads(threads);
          const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx);
          expect(paths.find((q) => q.pass === 'input gradient')?.algorithm).toBe('direct');
          if (result === undefined) throw new Error('no dx');
          return result;
        });
        const what = `dx x=[${x.shape}] w=[${w.shape}] pad ${pad}${sparse ? ' (sparse dy)' : ''}`;
        const r = closeTo(runs[0], want, { rtol: 1e-5, atol: 2e-6 * (FN * filter * filter + 1) });
        expect(r.ok, `${what}: ${r.message}`).toBe(true);
        runs.slice(1).forEach((dx, i) => expect(bitwiseEqual(dx, runs[0]), `${what}: run ${i + 1} against by 5 at 1 thread`).toBe(true));
      }),
      { seed: 22, numRuns: 50 },
    );
  });
});
