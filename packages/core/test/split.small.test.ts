import {
  convGeometry, fastKernels, fromData, fusedKernelsOf, key, referenceKernels, resultScope, setThreads, startThreads, uniform, type Tensor,
} from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';
import { residentAt, workspace } from '../src/fast/layout.js';
import { runChunks } from '../src/fast/threads.js';
import { f32, wasm } from '../src/fast/wasm.js';

/*
 * The small kernels split across the threads (relu.wat's reluElements and reluBackwardElements, pool.wat's
 * maxPool2x2Planes and unpoolReluPlanes, conv-layout.wat's packDyImageRange with replayDb): each, cut into shares by
 * runChunks across 2 threads, gives the bits of one unsplit call on generated sizes, NaN, -0 and infinities included;
 * a worker takes part; and the kernels that use them give the same bits at 1 and at 2 threads.
 */

const special = [0, -0, 1.5, -2.25, Number.NaN, Infinity, -Infinity, 1e-40];
/** n floats: mostly spread in [-50, 50], every 7th one special (NaN, ±0, ±Infinity, a subnormal). */
const values = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? special[(i + seed) % special.length] : (((i * 7919 + seed * 104729) % 2003) - 1001) / 20));

/** Bits of n floats (or int32s) at byte offset p of the shared memory. */
const bitsAt = (p: number, n: number): number[] => Array.from(new Int32Array(f32().buffer, p, n));

afterEach(() => {
  setThreads(1);
});

describe('reluElements and reluBackwardElements split across 2 threads', () => {
  const run = (n: number, seed: number, split: boolean): { relu: number[]; back: number[] } => {
    const [px, pdy, pr, pb] = workspace([n, n, n, n]);
    const mem = f32();
    mem.set(values(n, seed), px / 4);
    mem.set(values(n, seed + 1), pdy / 4);
    mem.fill(Number.NaN, pr / 4, pr / 4 + n);
    mem.fill(Number.NaN, pb / 4, pb / 4 + n);
    if (split) {
      runChunks('reluElements', n, 4, [px, pr], true, 2);
      runChunks('reluBackwardElements', n, 4, [px, pdy, pb], true, 2);
    } else {
      wasm.relu(px, n, pr);
      wasm.reluBackward(px, pdy, n, pb);
    }
    return { relu: bitsAt(pr, n), back: bitsAt(pb, n) };
  };

  it('shares of whole multiples of 4 give the unsplit bits on generated lengths', () => {
    setThreads(2);
    startThreads();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.nat(1000), (n, seed) => {
        expect(run(n, seed, true)).toEqual(run(n, seed, false));
      }),
      { seed: 81, numRuns: 80 },
    );
  });

  it('fast relu and reluBackward of a [100, 16, 28, 28] batch: a worker takes part, the bits of 1 thread and of the reference', () => {
    const x = uniform(key(3), [100, 16, 28, 28], { low: -1, high: 1 });
    const dy = uniform(key(4), x.shape, { low: -1, high: 1 });
    setThreads(1);
    const [r1, b1] = [fastKernels.relu(x), fastKernels.reluBackward(x, dy)];
    expect(bitwiseEqual(r1, referenceKernels.relu(x))).toBe(true);
    expect(bitwiseEqual(b1, referenceKernels.reluBackward(x, dy))).toBe(true);
    untilAWorkerTakesPart(() => {
      expect(bitwiseEqual(fastKernels.relu(x), r1)).toBe(true);
      expect(bitwiseEqual(fastKernels.reluBackward(x, dy), b1)).toBe(true);
    });
  });
});

describe('maxPool2x2Planes split across 2 threads', () => {
  const run = (planes: number, H: number, W: number, seed: number, split: boolean): { out: number[]; arg: number[] } => {
    const [OH, OW] = [H >> 1, W >> 1];
    const n = planes * OH * OW;
    const [px, pout, parg] = workspace([planes * H * W, n, n]);
    const mem = f32();
    // rounded values: ties in windows, where the first maximum must win
    mem.set(values(planes * H * W, seed).map((v) => (seed % 2 === 0 ? Math.round(v / 10) : v)), px / 4);
    mem.fill(Number.NaN, pout / 4, pout / 4 + n);
    if (split) runChunks('maxPool2x2Planes', planes, 1, [px, H, W, OH, OW, pout, parg, 0], true, 2);
    else wasm.maxPool2x2(px, planes, H, W, OH, OW, pout, parg, 0);
    return { out: bitsAt(pout, n), arg: bitsAt(parg, n) };
  };

  it('planes in shares give the unsplit outputs and argmax indices (into the whole input) on generated sizes', () => {
    setThreads(2);
    startThreads();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 15 }), fc.integer({ min: 2, max: 21 }), fc.nat(1000), (planes, H, W, seed) => {
        expect(run(planes, H, W, seed, true)).toEqual(run(planes, H, W, seed, false));
      }),
      { seed: 82, numRuns: 80 },
    );
  });

  it('fast maxPool2d 2x2 of a [100, 16, 28, 28] batch: a worker takes part, the output and argmax of 1 thread and of the reference', () => {
    const x = fromData([100, 16, 28, 28], values(100 * 16 * 28 * 28, 5));
    const g = convGeometry('pool', { inH: 28, inW: 28, filterH: 2, stride: 2, pad: 0 });
    setThreads(1);
    const one = fastKernels.maxPool2d(x, g);
    const ref = referenceKernels.maxPool2d(x, g);
    expect(bitwiseEqual(one.out, ref.out)).toBe(true);
    expect(Array.from(one.argmax)).toEqual(Array.from(ref.argmax));
    untilAWorkerTakesPart(() => {
      const two = fastKernels.maxPool2d(x, g);
      expect(bitwiseEqual(two.out, one.out)).toBe(true);
      expect(Array.from(two.argmax)).toEqual(Array.from(one.argmax));
    });
  });
});

describe("the 2x2 pool's output is a kernel result", () => {
  it('resident for the next kernel to read in place, and inside a resultScope a view of the memory, never copied out; the bits of the reference', () => {
    const x = fromData([4, 8, 12, 14], values(4 * 8 * 12 * 14, 6));
    const g = convGeometry('pool', { inH: 12, inW: 14, filterH: 2, stride: 2, pad: 0 });
    const want = referenceKernels.maxPool2d(x, g);
    const got = fastKernels.maxPool2d(x, g);
    expect(bitwiseEqual(got.out, want.out)).toBe(true);
    expect(Array.from(got.argmax)).toEqual(Array.from(want.argmax));
    expect(residentAt(got.out.data)).toBeDefined();
    expect(residentAt(fastKernels.maxPool2dOut(x, g).data)).toBeDefined();
    const inMemory = (t: Tensor): boolean => t.data.buffer instanceof SharedArrayBuffer;
    resultScope(() => fastKernels.maxPool2d(x, g)); // the first scope sizes the area of the next
    const views: boolean[] = [];
    const kept = resultScope(() => {
      const pooled = fastKernels.maxPool2d(x, g).out;
      const bare = fastKernels.maxPool2dOut(x, g);
      views.push(inMemory(pooled), inMemory(bare));
      return [pooled, bare];
    });
    expect(views).toEqual([true, true]);
    kept.forEach((t) => expect(bitwiseEqual(t, want.out)).toBe(true));
  });
});

describe('unpoolReluPlanes split across 2 threads', () => {
  /**
   * planes of P floats, each with PQ pooled elements routed to indices in its own plane (overlapping windows may route
   * two to one float, so the order of the sums counts); the destination starts as NaN, so a float left unzeroed shows.
   */
  const run = (planes: number, P: number, PQ: number, seed: number, split: boolean): number[] => {
    const n = planes * PQ;
    const [pdy, pout, parg, pdst] = workspace([n, n, n, planes * P]);
    const mem = f32();
    mem.set(values(n, seed), pdy / 4);
    mem.set(values(n, seed + 2), pout / 4);
    new Int32Array(mem.buffer, parg, n).set(Int32Array.from({ length: n }, (_, o) => Math.floor(o / PQ) * P + ((o * 31 + seed) % P)));
    mem.fill(Number.NaN, pdst / 4, pdst / 4 + planes * P);
    if (split) runChunks('unpoolReluPlanes', planes, 1, [pdy, pout, parg, PQ, pdst, P], true, 2);
    else wasm.unpoolRelu(pdy, pout, parg, n, pdst, planes * P);
    return bitsAt(pdst, planes * P);
  };

  it('planes in shares give the unsplit dy on generated sizes, repeated indices included', () => {
    setThreads(2);
    startThreads();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 30 }), fc.nat(1000), (planes, P, PQ, seed) => {
        expect(run(planes, P, PQ, seed, true)).toEqual(run(planes, P, PQ, seed, false));
      }),
      { seed: 83, numRuns: 80 },
    );
  });

  it('a batch of 100 x 16 planes of 28 x 28: a worker takes part, the unsplit dy', () => {
    const want = run(1600, 784, 196, 9, false);
    untilAWorkerTakesPart(() => expect(run(1600, 784, 196, 9, true)).toEqual(want));
  });
  it('an argmax of -1 (a padded window with nothing of the image in it) routes nothing and writes nothing outside dy, as the reference skips it', () => {
    // 2 planes of 4 floats, 3 pooled elements each; the floats around dy hold a sentinel
    const [planes, P, PQ] = [2, 4, 3];
    const n = planes * PQ;
    const [pdy, pout, parg, pguard] = workspace([n, n, n, planes * P + 8]);
    const pdst = pguard + 16;
    const mem = f32();
    mem.set([1, 2, 3, 4, 5, 6], pdy / 4);
    mem.set([1, 1, 1, 1, 1, 1], pout / 4);
    new Int32Array(mem.buffer, parg, n).set([-1, 1, 3, 4, -1, 7]);
    for (const split of [false, true]) {
      mem.fill(7, pguard / 4, pguard / 4 + planes * P + 8);
      if (split) runChunks('unpoolReluPlanes', planes, 1, [pdy, pout, parg, PQ, pdst, P], true, 2);
      else wasm.unpoolRelu(pdy, pout, parg, n, pdst, planes * P);
      expect(Array.from(mem.subarray(pguard / 4, pguard / 4 + 4)), 'before dy').toEqual([7, 7, 7, 7]);
      expect(Array.from(mem.subarray(pdst / 4, pdst / 4 + planes * P)), 'dy').toEqual([0, 2, 0, 3, 4, 0, 0, 6]);
      expect(Array.from(mem.subarray(pdst / 4 + planes * P, pdst / 4 + planes * P + 4)), 'after dy').toEqual([7, 7, 7, 7]);
    }
  });
});

describe('packDyImageRange with replayDb split across 2 threads', () => {
  /** dy [N, FN, P] packed into panels of 8 lanes (lanes past FN stay as they were: NaN here) and db, from db = 0.5. */
  const run = (N: number, FN: number, P: number, seed: number, bp: boolean, split: boolean): { panels: number[]; db: number[] } => {
    const panelFloats = Math.ceil(FN / 8) * 8 * N * P;
    const [pdy, pbp, pdb, pside] = workspace([N * FN * P, panelFloats, FN, N * wasm.sideFloats(FN, P)]);
    const mem = f32();
    mem.set(values(N * FN * P, seed).map((v) => (Number.isFinite(v) ? v : 0.75)), pdy / 4);
    mem.fill(Number.NaN, pbp / 4, pbp / 4 + panelFloats);
    mem.fill(0.5, pdb / 4, pdb / 4 + FN);
    if (split) {
      runChunks('packDyImageRange', N, 1, [pdy, N, P, FN, bp ? pbp : 0, pdb, pside], true, 2);
      wasm.replayDb(pside, N, FN, P, pdb);
    } else {
      wasm.packDy(pdy, N, P, FN, bp ? pbp : 0, pdb);
    }
    return { panels: bitsAt(pbp, panelFloats), db: bitsAt(pdb, FN) };
  };

  it('images in shares, db replayed in order, give packDy\'s panels and db on generated shapes (FN and P not multiples of 4 included)', () => {
    setThreads(2);
    startThreads();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 50 }), fc.nat(1000), fc.boolean(), (N, FN, P, seed, bp) => {
        expect(run(N, FN, P, seed, bp, true)).toEqual(run(N, FN, P, seed, bp, false));
      }),
      { seed: 84, numRuns: 80 },
    );
  });

  it('a batch of 100 images of 16 channels of 28 x 28: a worker takes part, packDy\'s panels and db', () => {
    const want = run(100, 16, 784, 11, true, false);
    untilAWorkerTakesPart(() => expect(run(100, 16, 784, 11, true, true)).toEqual(want));
  });
});

describe('the kernels that use them give the same bits at 1 and at 2 threads', () => {
  // (dW, db and dx of a convolution after ReLU, and after ReLU and a max pool, with dx: fillDy by reluBackwardElements
  // or unpoolReluPlanes, then dy packed by packDyImageRange; a 3x3 stride-2 pool's windows overlap, so two pooled
  // elements may route into one float of dy, in their order)
  const grads = (t: { dw: Tensor; db?: Tensor; dx?: Tensor }): Tensor[] => [t.dw, ...(t.db === undefined ? [] : [t.db]), ...(t.dx === undefined ? [] : [t.dx])];
  it.each([
    { x: [40, 8, 14, 14], FN: 16, filter: 3, pad: 1, pool: 2 },
    { x: [30, 3, 13, 11], FN: 6, filter: 2, pad: 0, pool: 2 },
    { x: [30, 3, 13, 11], FN: 6, filter: 2, pad: 0, pool: 3 },
  ])('x=$x FN $FN filter $filter pad $pad, pool $pool x $pool stride 2: conv2dReluBackward and conv2dReluMaxPoolBackward', ({ x: xShape, FN, filter, pad, pool: size }) => {
    const [, C, H, W] = xShape;
    const g = convGeometry('conv', { inH: H, inW: W, filterH: filter, filterW: filter, stride: 1, pad });
    const pool = convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: size, stride: 2, pad: 0 });
    const x = uniform(key(1), xShape, { low: -1, high: 1 });
    const w = uniform(key(2), [FN, C, filter, filter], { low: -1, high: 1 });
    const b = uniform(key(3), [FN], { low: -1, high: 1 });
    const fused = fusedKernelsOf(fastKernels);
    const out = fused.conv2dRelu(x, w, b, g);
    const dy = uniform(key(4), out.shape, { low: -1, high: 1 });
    const pooled = fused.conv2dReluMaxPool(x, w, b, g, pool, true);
    const pdy = uniform(key(5), pooled.out.shape, { low: -1, high: 1 });
    const both = (): Tensor[] => [
      ...grads(fused.conv2dReluBackward(dy, out, x, w, g, true)),
      ...grads(fused.conv2dReluMaxPoolBackward(pdy, pooled.out, pooled.argmax, x, w, g, [xShape[0], FN, g.outH, g.outW], true)),
    ];
    setThreads(1);
    const one = both();
    setThreads(2);
    startThreads();
    const two = both();
    one.forEach((t, i) => expect(bitwiseEqual(two[i], t), `result ${i}`).toBe(true));
  });
});
