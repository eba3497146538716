import { convGeometry, key, setThreads, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { winogradConv, winogradDxPlan, winogradInputGrad, winogradPlan } from '../src/fast/winograd.js';
import { untilAWorkerTakesPart } from './workers.js';

// The Winograd forward and input gradient split across the threads in chunks of whole blocks of tile groups
// (src/fast/winograd.ts convolveAt): every chunk's blocks then start where the blocks of one thread's single call do, and
// each output's sum over channels never depended on its block. At 2 threads, with a worker taking part, the bits of 1.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

const caseOf = (N: number, C: number, K: number, H: number, W: number, pad: number, seed: number) => {
  const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
  const x = fill(seed, [N, C, H, W]);
  const w = fill(seed + 1, [K, C, 3, 3]);
  const b = fill(seed + 2, [K]);
  const dy = fill(seed + 3, [N, K, g.outH, g.outW]);
  const plan = winogradPlan(x.shape, K, g, 'forward', 4);
  const dxPlan = winogradDxPlan(dy.shape, x.shape, g, 4);
  if (plan === undefined || dxPlan === undefined) throw new Error(`no F(4x4,3x3) plan for x=[${N},${C},${H},${W}] K=${K}`);
  return { run: () => [winogradConv(plan, x, w, b, true), winogradInputGrad(dxPlan, dy, w)] };
};

const sameAtTwoThreads = (run: () => Tensor[]): void => {
  setThreads(1);
  const one = run();
  untilAWorkerTakesPart(() => run().forEach((t, i) => expect(bitwiseEqual(t, one[i] ?? t)).toBe(true)));
};

afterEach(() => setThreads(1));

describe('winograd forward and input gradient in chunks of whole blocks', () => {
  it('resnet stage 2 x=[100,32,14,14] w=[32,32,3,3] pad 1 (400 groups, chunks of 32 where they were 26) and stage 3 x=[100,64,7,7] (100 groups of 2x2 tiles): forward with bias and ReLU, and dx, the bits of 1 thread at 2', () => {
    sameAtTwoThreads(caseOf(100, 32, 32, 14, 14, 1, 1).run);
    sameAtTwoThreads(caseOf(100, 64, 64, 7, 7, 1, 2).run);
  });

  it('x=[N,C,H,W] w=[K,C,3,3], N 1..40, C and K 16..24, H and W 4..18, pad 0..2 (group counts that are no multiple of the block, partial tiles): the bits of 1 thread at 2', () => {
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 1, max: 40 }),
          C: fc.integer({ min: 16, max: 24 }),
          K: fc.integer({ min: 16, max: 24 }),
          H: fc.integer({ min: 4, max: 18 }),
          W: fc.integer({ min: 4, max: 18 }),
          pad: fc.integer({ min: 0, max: 2 }),
          seed: fc.nat(1000),
        }),
        ({ N, C, K, H, W, pad, seed }) => {
          const { run } = caseOf(N, C, K, H, W, pad, seed);
          setThreads(1);
          const one = run();
          setThreads(2);
          run().forEach((t, i) => expect(bitwiseEqual(t, one[i] ?? t)).toBe(true));
        },
      ),
      { seed: 31, numRuns: 40 },
    );
  });
});
