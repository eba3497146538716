import { composedFusions, fastKernels, fromData, key, setThreads, uniform, type BatchNormStats, type FusedKernels, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { batchNormRangeJobs, setBatchNormChannelRanges, setMaskInSumsMinPlane } from '../src/fast/batchnorm.js';
import { untilAWorkerTakesPart } from './workers.js';

/*
 * Batch norm's jobs split across the threads as one range of channels a thread (src/fast/batchnorm.ts runChannels),
 * where they went as units of one channel claimed in turn: every channel's passes run whole on one thread either way,
 * so the results (out, the statistics, dx, dgamma, dbeta, a residual end's masked dy) are the bits of 1 thread and of
 * the units of one channel. Generated shapes over the split's threshold (65536 elements) with channel counts that are
 * odd, prime, below and above the thread count, planes of 1 to a few hundred floats ([N, C] inputs are planes of 1), every
 * kernel that runs the two passes (plain, with ReLU, with a residual end's addend; batch and running statistics).
 */

const fused: FusedKernels = fastKernels.fused ?? composedFusions(fastKernels);

afterEach(() => {
  setThreads(1);
  setBatchNormChannelRanges(true);
  setMaskInSumsMinPlane(128);
});

const draw = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const statsOf = (t: BatchNormStats): Tensor[] => [fromData([t.mean.length], Float64Array.from(t.mean)), fromData([t.variance.length], Float64Array.from(t.variance))];

/** Every result of the batch norm kernels on one case, as tensors in a fixed order. */
const allResults = (N: number, C: number, S: number, seed: number): Tensor[] => {
  const shape = S === 1 ? [N, C] : [N, C, S];
  const [x, addend, dy] = [draw(seed, shape), draw(seed + 1, shape), draw(seed + 2, shape)];
  const [gamma, beta] = [draw(seed + 3, [C]), draw(seed + 4, [C])];
  const running: BatchNormStats = { mean: Float64Array.from(draw(seed + 5, [C]).data), variance: Float64Array.from(draw(seed + 6, [C]).data, (v) => v + 2) };
  const plain = fastKernels.batchNorm(x, gamma, beta, 1e-5);
  const withRunning = fastKernels.batchNorm(x, gamma, beta, 1e-5, running);
  const relu = fused.batchNormRelu(x, gamma, beta, 1e-5);
  const end = fused.batchNormAddRelu(x, addend, gamma, beta, 1e-5);
  const back = fastKernels.batchNormBackward(dy, x, gamma, plain.stats, 1e-5, true, true);
  const backRunning = fastKernels.batchNormBackward(dy, x, gamma, running, 1e-5, false, true);
  const backNoDx = fastKernels.batchNormBackward(dy, x, gamma, plain.stats, 1e-5, true, false);
  const reluBack = fused.batchNormReluBackward(dy, relu.out, x, gamma, relu.stats, 1e-5, true, true);
  const endBack = fused.batchNormAddReluBackward(dy, end.out, x, gamma, end.stats, 1e-5, true, true);
  const grads = [back, backRunning, backNoDx, reluBack, endBack].flatMap((g) => [g.dx, g.dgamma, g.dbeta].filter((t) => t !== undefined));
  return [plain.out, ...statsOf(plain.stats), withRunning.out, relu.out, end.out, ...statsOf(end.stats), ...grads, endBack.dsum];
};

const sameBits = (got: readonly Tensor[], want: readonly Tensor[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((t, i) => expect(bitwiseEqual(t, want[i] ?? t), `result ${i}`).toBe(true));
};

/**
 * At 1 thread, at 2 with units of one channel, at 2 by channel ranges (a worker taking part, where there are two
 * channels to split): the same bits; the ranges taken.
 */
const sameByRanges = (N: number, C: number, S: number, seed: number): void => {
  setThreads(1);
  const one = allResults(N, C, S, seed);
  const atTwoThreads = (body: () => void): void => {
    if (C >= 2) untilAWorkerTakesPart(body);
    else {
      setThreads(2);
      body();
    }
  };
  setBatchNormChannelRanges(false);
  const before = batchNormRangeJobs();
  atTwoThreads(() => sameBits(allResults(N, C, S, seed), one));
  expect(batchNormRangeJobs()).toBe(before);
  setBatchNormChannelRanges(true);
  atTwoThreads(() => sameBits(allResults(N, C, S, seed), one));
  // nine batch norm passes a case, each split where there are two channels
  expect(batchNormRangeJobs() - before >= 9).toBe(C >= 2);
};

describe('batch norm by channel ranges', () => {
  it("resnet's shapes x=[100,16,28,28], [100,32,14,14], [100,64,7,7]: the bits of 1 thread and of units of one channel", () => {
    sameByRanges(100, 16, 28 * 28, 1);
    sameByRanges(100, 32, 14 * 14, 2);
    sameByRanges(100, 64, 7 * 7, 3);
  });

  it('x=[N,C,S] over the split threshold, C 1..70 (odd, prime, below the thread count), S 1..300 ([N, C] for S 1), residual ends masked in the sums pass and first: the same bits', () => {
    fc.assert(
      fc.property(
        fc.record({ N: fc.integer({ min: 1, max: 40 }), C: fc.integer({ min: 1, max: 70 }), S: fc.integer({ min: 1, max: 300 }), maskInSums: fc.boolean(), seed: fc.nat(1000) }),
        ({ N, C, S, maskInSums, seed }) => {
          // enough images that the job is split (65536 elements)
          const images = Math.max(N, Math.ceil(65536 / (C * S)));
          setMaskInSumsMinPlane(maskInSums ? 0 : Number.POSITIVE_INFINITY);
          sameByRanges(images, C, S, seed);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('below the split threshold (x=[4,16,8,8]) and at 1 thread no job goes by ranges', () => {
    const before = batchNormRangeJobs();
    setThreads(2);
    allResults(4, 16, 64, 5);
    setThreads(1);
    allResults(100, 16, 784, 6);
    expect(batchNormRangeJobs()).toBe(before);
  });
});
