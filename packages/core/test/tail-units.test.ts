import { convGeometry, fromData, key, setThreads, traceJobs, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';
import { convolvePacked, packedForwardPlan } from '../src/fast/conv-packed.js';
import { workspace } from '../src/fast/layout.js';
import { PARALLEL_MIN_MACS, runChunkJob, runTogether, setFineTails, tailedParts, type ChunkJob } from '../src/fast/threads.js';
import { f32, wasm } from '../src/fast/wasm.js';
import { winogradConv, winogradDxPlan, winogradInputGrad, winogradPlan } from '../src/fast/winograd.js';

/*
 * A split job's last units cut finer where its export takes a finer alignment (threads.ts's tailAlign and cutOf): the
 * last units' worth of items a thread in units of tailAlign items. Every item must still be run once, by one call of
 * whole aligned units before the tail and whole tail units in it: the bits of the export run whole, nothing written
 * past the items. Winograd's tiles (blocks of 4 groups at a job's end) and the packed forward (groups of half its
 * images) give the bits of 1 thread and of the cut without a tail, and the cut is the one taken (its unit count).
 */

afterEach(() => {
  setThreads(1);
  setFineTails(true);
});

/** n floats spread in [-50, 50]. */
const finite = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) - 1001) / 20);
/** finite's, every 5th a negative zero or NaN. */
const values = (n: number, seed: number): Float32Array => finite(n, seed).map((v, i) => (i % 5 === 2 ? (i % 10 === 2 ? -0 : Number.NaN) : v));

const bitsAt = (p: number, n: number): Int32Array => new Int32Array(f32().buffer, p, n).slice();
const sameBits = (a: readonly Int32Array[], b: readonly Int32Array[]): boolean => a.length === b.length && a.every((x, i) => x.length === b[i]?.length && x.every((v, j) => v === b[i]?.[j]));

describe('a job whose last units are cut finer', () => {
  // relu(x) into pr and ReLU's pullback (out = dy = x) into pb, by reluElements and reluBackwardElements (items =
  // elements) in units of `align`, their tails in units of `tailAlign`: the whole exports, each job alone, or the two as
  // two parts of one job (they read only x); the outputs and 8 floats of 7s past each
  const run = (x: Float32Array, align: number, tailAlign: number, split: 'whole' | 'alone' | 'together'): Int32Array[] => {
    const n = x.length;
    const [px, pr, pb] = workspace([n, n + 8, n + 8]);
    const mem = f32();
    mem.set(x, px / 4);
    mem.fill(7, pr / 4, pr / 4 + n + 8);
    mem.fill(7, pb / 4, pb / 4 + n + 8);
    const relu: ChunkJob = { fn: 'reluElements', total: n, align, tailAlign, args: [px, pr], worthSplitting: true };
    const pullback: ChunkJob = { fn: 'reluBackwardElements', total: n, align, tailAlign, args: [px, px, pb], worthSplitting: true };
    if (split === 'whole') {
      wasm.reluElements(0, n, px, pr);
      wasm.reluBackwardElements(0, n, px, px, pb);
    } else if (split === 'alone') {
      runChunkJob(relu, 2);
      runChunkJob(pullback, 2);
    } else runTogether(relu, pullback, 2);
    return [bitsAt(pr, n + 8), bitsAt(pb, n + 8)];
  };

  it('over 0..5000 elements in units of 4..64, tails of 1..align, alone and as two parts run together, at 2 threads: the bits of the exports run whole, nothing written past them', () => {
    setThreads(2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 16 }), fc.nat(100), (n, alignQuarters, tailDiv, seed) => {
        const align = 4 * alignQuarters;
        const tailAlign = Math.max(1, Math.floor(align / tailDiv));
        const x = values(n, seed);
        const whole = run(x, align, tailAlign, 'whole');
        expect(sameBits(run(x, align, tailAlign, 'alone'), whole)).toBe(true);
        expect(sameBits(run(x, align, tailAlign, 'together'), whole)).toBe(true);
      }),
      { seed: 21, numRuns: 120 },
    );
  });

  // C (+)= A B by gemmRows (items = rows of C) over M rows, adding to C (acc): a row run twice, or not at all, shows;
  // N = 24, K = 300 (two K blocks); as two parts, two such GEMMs into two Cs
  const gemmAdding = (M: number, split: 'whole' | 'alone' | 'together'): Int32Array[] => {
    const [N, K] = [24, 300];
    const [pa, pb, pbp, pc1, pc2] = workspace([M * K, K * N, K * N, M * N + 8, M * N + 8]);
    const mem = f32();
    // finite values: a NaN in a row of A makes the row's sums NaN however often they are added
    mem.set(finite(M * K, 1), pa / 4);
    mem.set(finite(K * N, 2), pb / 4);
    mem.set(finite(M * N + 8, 3), pc1 / 4);
    mem.set(finite(M * N + 8, 4), pc2 / 4);
    wasm.packB(pb, N, 1, K, N, pbp);
    const job = (pc: number): ChunkJob => ({ fn: 'gemmRows', total: M, align: 4, tailAlign: 1, args: [N, K, pa, K, 1, pbp, pc, N, 1, 0, 0], worthSplitting: true });
    if (split === 'whole') for (const pc of [pc1, pc2]) wasm.gemmRows(0, M, N, K, pa, K, 1, pbp, pc, N, 1, 0, 0);
    else if (split === 'alone') for (const pc of [pc1, pc2]) runChunkJob(job(pc), 2);
    else runTogether(job(pc1), job(pc2), 2);
    return [bitsAt(pc1, M * N + 8), bitsAt(pc2, M * N + 8)];
  };

  it('a worker runs units of the tail too (gemmRows adding to C over 2000 rows: 6 units of 336 rows, the last 2 in units of 21): every run the bits of the GEMM run whole, no row run twice or left out; the tails counted, none at 1 thread or when turned off', () => {
    const whole = gemmAdding(2000, 'whole');
    const before = tailedParts();
    untilAWorkerTakesPart(() => expect(sameBits(gemmAdding(2000, 'alone'), whole)).toBe(true));
    // the worker's claims, tail units among them, in many runs
    for (let i = 0; i < 40; i++) expect(sameBits(gemmAdding(2000, i % 2 === 0 ? 'alone' : 'together'), whole)).toBe(true);
    expect(tailedParts()).toBeGreaterThan(before);
    const x = values(200_003, 5);
    setFineTails(false);
    const off = tailedParts();
    expect(sameBits(run(x, 4, 1, 'alone'), run(x, 4, 1, 'whole'))).toBe(true);
    expect(tailedParts()).toBe(off);
    setFineTails(true);
    setThreads(1);
    runChunkJob({ fn: 'reluElements', total: 4096, align: 64, tailAlign: 4, args: [...workspace([4096, 4096])], worthSplitting: true });
    expect(tailedParts()).toBe(off);
  });

  it('the cut: 100 items in units of 8, a tail of 4 at 2 threads: 11 units of 8, then 3 of 4 (14 units); 13 without the tail', () => {
    setThreads(2);
    const [px, pr] = workspace([100, 100]);
    const unitsOf = (): number => {
      traceJobs(true);
      runChunkJob({ fn: 'reluElements', total: 100, align: 8, tailAlign: 4, args: [px, pr], worthSplitting: true });
      const [job] = traceJobs(false);
      return job?.units ?? 0;
    };
    expect(unitsOf()).toBe(14);
    setFineTails(false);
    expect(unitsOf()).toBe(13);
  });
});

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

/**
 * At 1 thread, at 2 without tails and at 2 with them: the same bits. Where the jobs are `split` (large enough), with a
 * worker taking part; where they have units larger than their tails', a tail taken at 2.
 */
const sameWithTails = (run: () => Tensor[], split: boolean, tailed = split): void => {
  setThreads(1);
  const one = run();
  const same = (): void => run().forEach((t, i) => expect(bitwiseEqual(t, one[i] ?? t)).toBe(true));
  const atTwo = split ? untilAWorkerTakesPart : (body: () => void): void => (setThreads(2), body());
  setFineTails(false);
  atTwo(same);
  setFineTails(true);
  const before = tailedParts();
  atTwo(same);
  if (tailed) expect(tailedParts()).toBeGreaterThan(before);
};

describe("Winograd's tiles ending in blocks of 4 groups", () => {
  const caseOf = (N: number, C: number, K: number, H: number, W: number, pad: number, seed: number): (() => Tensor[]) => {
    const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
    const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K])];
    const dy = fill(seed + 3, [N, K, g.outH, g.outW]);
    const plan = winogradPlan(x.shape, K, g, 'forward', 4);
    const dxPlan = winogradDxPlan(dy.shape, x.shape, g, 4);
    if (plan === undefined || dxPlan === undefined) throw new Error(`no F(4x4,3x3) plan for x=[${N},${C},${H},${W}] K=${K}`);
    return () => [winogradConv(plan, x, w, b, true), winogradInputGrad(dxPlan, dy, w)];
  };

  it("resnet's x=[100,64,7,7] (100 groups: 11 blocks of 8, then 3 of 4), [100,32,14,14] (400 groups: 48 blocks of 8, then 4 of 4) and [100,16,28,28] (1400 groups: 57 units of 24, then 8 of 4): forward and dx the bits of 1 thread", () => {
    sameWithTails(caseOf(100, 64, 64, 7, 7, 1, 1), true);
    sameWithTails(caseOf(100, 32, 32, 14, 14, 1, 2), true);
    sameWithTails(caseOf(100, 16, 16, 28, 28, 1, 3), true);
  });

  it('x=[N,C,H,W] w=[K,C,3,3], N 20..70, C and K 17..25 odd, H and W 5..15, pad 0..2 (split or not, group counts no multiple of a block): the bits of 1 thread and of whole blocks', () => {
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 20, max: 70 }),
          C: fc.integer({ min: 16, max: 24 }),
          K: fc.integer({ min: 16, max: 24 }),
          H: fc.integer({ min: 5, max: 15 }),
          W: fc.integer({ min: 5, max: 15 }),
          pad: fc.integer({ min: 0, max: 2 }),
          seed: fc.nat(1000),
        }),
        ({ N, C, K, H, W, pad, seed }) => sameWithTails(caseOf(N, C | 1, K | 1, H, W, pad, seed), false),
      ),
      { seed: 37, numRuns: 12 },
    );
  });
});

describe('the packed forward ending in groups of half its images', () => {
  const caseOf = (N: number, C: number, H: number, FN: number, seed: number): (() => Tensor[]) => {
    const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad: 1, stride: 2 });
    const [x, w, b] = [fill(seed, [N, C, H, H]), fill(seed + 1, [FN, C, 3, 3]), fill(seed + 2, [FN])];
    const plan = packedForwardPlan(x.shape, FN, g);
    if (plan === undefined) throw new Error(`no packed plan for x=[${N},${C},${H},${H}] FN=${FN}`);
    const size = N * FN * g.outH * g.outW;
    return () => [fromData([size], Float32Array.from(new Float32Array(f32().buffer, convolvePacked(plan, x, w, b, true, undefined), size)))];
  };

  it("resnet's x=[100,32,14,14] w=[64,32,3,3] (groups of 4 images: 23, then 4 of 2) and x=[100,16,28,28] w=[32,16,3,3] (groups of 2: 48, then 4 of 1): the bits of 1 thread", () => {
    sameWithTails(caseOf(100, 32, 14, 64, 1), true);
    sameWithTails(caseOf(100, 16, 28, 32, 2), true);
  });

  it('x=[N,C,H,H] w=[FN,C,3,3] stride 2 pad 1, C 15..69 odd, H 12..15, FN 8..13, N 10..60 or the least that is split: the bits of 1 thread and of whole groups', () => {
    fc.assert(
      fc.property(
        fc.record({ N: fc.integer({ min: 10, max: 60 }), C: fc.integer({ min: 7, max: 34 }), H: fc.integer({ min: 12, max: 15 }), FN: fc.integer({ min: 8, max: 13 }), seed: fc.nat(1000) }),
        ({ N, C, H, FN, seed }) => {
          const P = Math.ceil(H / 2) ** 2;
          // split from PARALLEL_MIN_MACS multiply-adds
          const images = Math.max(N, Math.ceil(PARALLEL_MIN_MACS / (P * FN * 9 * (2 * C + 1))));
          // (a group of 1 image, where T's rows are long, has no finer tail)
          sameWithTails(caseOf(images, 2 * C + 1, H, FN, seed), true, false);
        },
      ),
      { seed: 43, numRuns: 12 },
    );
  });
});
