import { convGeometry, fastKernels, fromData, key, setThreads, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { filterReadsInPlace, winogradConv, winogradDxPlan, winogradPlan } from '../src/fast/winograd.js';

/*
 * Winograd's filter transform (src/fast/winograd.ts transformFilters) reads the filters where they are resident in the
 * kernels' memory (layout.ts inputAt), as training leaves them: each step's weights are Adam's new p, kept in its slot.
 * Filters read in place must give the bits of the same filters copied in (a tensor of their own, never resident), in
 * the forward and in the input gradient; a region holding other filters where the copy would go, and a slot given to
 * other params since, must not be read.
 */

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const copyOf = (t: Tensor): Tensor => fromData(t.shape, t.data.slice());

/** Filters as a training step leaves them: Adam's p', resident in its slot (512 floats or more). */
const residentFilters = (seed: number, shape: readonly number[]): Tensor => {
  const v = fromData(shape, Float32Array.from(fill(seed + 3, shape).data, Math.abs));
  return fastKernels.adamUpdate(fill(seed, shape), fill(seed + 1, shape), fill(seed + 2, shape), v, { lrT: 0.01, c1: 0.1, c2: 0.001, wd: 0 }).p;
};

const shapeArb = fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  C: fc.integer({ min: 16, max: 21 }),
  K: fc.integer({ min: 16, max: 21 }),
  H: fc.integer({ min: 3, max: 11 }),
  W: fc.integer({ min: 3, max: 11 }),
  pad: fc.integer({ min: 0, max: 2 }),
});

describe('Winograd reads resident filters in place', () => {
  afterEach(() => setThreads(1));

  it('forward and input gradient, generated shapes (odd sizes, pad 0 to 2), 1 and 2 threads: the bits of the filters copied in', () => {
    fc.assert(
      fc.property(shapeArb, fc.nat(1000), fc.constantFrom(1, 2), ({ N, C, K, H, W, pad }, seed, threads) => {
        setThreads(threads);
        const g = convGeometry('conv', { inH: H + 2, inW: W + 2, filterH: 3, pad });
        const x = fill(seed, [N, C, H + 2, W + 2]);
        const b = fill(seed + 1, [K]);
        const other = fill(seed + 2, [K, C, 3, 3]);
        const w = residentFilters(seed + 10, [K, C, 3, 3]);
        const plan = winogradPlan(x.shape, K, g);
        if (plan === undefined) throw new Error('no Winograd plan');
        // other filters copied in first, where a copy of w would go
        winogradConv(plan, x, other, b, false);
        const reads = filterReadsInPlace();
        const y = winogradConv(plan, x, w, b, false);
        expect(filterReadsInPlace()).toBe(reads + 1);
        const yCopied = winogradConv(plan, x, copyOf(w), b, false);
        expect(filterReadsInPlace()).toBe(reads + 1);
        expect(bitwiseEqual(y, yCopied)).toBe(true);

        const dy = fill(seed + 4, [N, K, g.outH, g.outW]);
        expect(winogradDxPlan(dy.shape, x.shape, g)).toBeDefined();
        fastKernels.conv2dBackwardFromInput(dy, x, other, g, true, false);
        const dxReads = filterReadsInPlace();
        const r = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true, false);
        expect(filterReadsInPlace()).toBe(dxReads + 1);
        const e = fastKernels.conv2dBackwardFromInput(dy, x, copyOf(w), g, true, false);
        expect(r.dx !== undefined && e.dx !== undefined && bitwiseEqual(r.dx, e.dx)).toBe(true);
        expect(bitwiseEqual(r.dw, e.dw)).toBe(true);
      }),
      { seed: 17, numRuns: 24 },
    );
  });

  it('filters whose slot Adam gave to other params since are copied in, not read where they were', () => {
    const [N, C, K] = [2, 16, 16];
    const g = convGeometry('conv', { inH: 9, inW: 9, filterH: 3, pad: 1 });
    const x = fill(1, [N, C, 9, 9]);
    const b = fill(2, [K]);
    const w = residentFilters(3, [K, C, 3, 3]);
    // 16 more params of 512 floats or more: every one of Adam's slots claimed again, w's overwritten
    for (let i = 0; i < 16; i++) residentFilters(100 + 10 * i, [K, C, 3, 3]);
    const plan = winogradPlan(x.shape, K, g);
    if (plan === undefined) throw new Error('no Winograd plan');
    const reads = filterReadsInPlace();
    const y = winogradConv(plan, x, w, b, false);
    expect(filterReadsInPlace()).toBe(reads);
    expect(bitwiseEqual(y, winogradConv(plan, x, copyOf(w), b, false))).toBe(true);
  });
});
