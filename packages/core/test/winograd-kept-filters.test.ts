import { convGeometry, fastKernels, key, resultScope, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { describe, expect, it } from 'vitest';
import { winogradConv, winogradPlan } from '../src/fast/winograd.js';

// The Winograd forward keeps the transformed filters U of the last weights it saw (src/fast/winograd.ts keptFiltersOf),
// keyed by the weights' buffer, and transforms again only for a buffer it does not hold. A stale U (another buffer's,
// another tile size's, a slot given to other weights since) would give another convolution's output: every result
// here is compared with the same convolution through a copy of the weights, a buffer never seen, so transformed afresh.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const copyOf = (t: Tensor): Tensor => ({ ...t, data: t.data.slice() });

const conv = (x: Tensor, w: Tensor, b: Tensor): Tensor => {
  const [, C, H, W] = x.shape;
  const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad: 1 });
  const plan = winogradPlan(x.shape, w.shape[0] ?? 0, g);
  if (plan === undefined) throw new Error(`no Winograd plan for x=[${x.shape.join(',')}] C=${C}`);
  return winogradConv(plan, x, w, b, false);
};

const expectFresh = (x: Tensor, w: Tensor, b: Tensor): void => {
  expect(bitwiseEqual(conv(x, w, b), conv(x, copyOf(w), b))).toBe(true);
};

describe('the Winograd forward keeps transformed filters per weights buffer', () => {
  it('18 weights of one shape, twice round (more than the 16 kept sets: the first ones are claimed again), each right', () => {
    const x = fill(1, [3, 16, 9, 9]);
    const b = fill(2, [8]);
    const ws = Array.from({ length: 18 }, (_, i) => fill(100 + i, [8, 16, 3, 3]));
    for (let round = 0; round < 2; round++) for (const w of ws) expectFresh(x, w, b);
    // the last ones are still kept: run again, in reverse order, each against a fresh transform
    for (const w of [...ws].reverse()) expectFresh(x, w, b);
  });

  it('the same weights for two input sizes with different tiles (F(4x4, 3x3) at 9x9, F(2x2, 3x3) at 2x2)', () => {
    const w = fill(3, [8, 16, 3, 3]);
    const b = fill(4, [8]);
    const [big, small] = [fill(5, [2, 16, 9, 9]), fill(6, [2, 16, 2, 2])];
    const tile = (x: Tensor) => winogradPlan(x.shape, 8, convGeometry('conv', { inH: x.shape[2] ?? 0, inW: x.shape[3] ?? 0, filterH: 3, pad: 1 }))?.m;
    expect([tile(big), tile(small)]).toEqual([4, 2]);
    for (const x of [big, small, big, small]) expectFresh(x, w, b);
  });

  it('a scope larger than any before lays the kept areas out anew: U is transformed again, not read where the area now is', () => {
    const x = fill(7, [2, 16, 9, 9]);
    const [w, b] = [fill(8, [8, 16, 3, 3]), fill(9, [8])];
    expectFresh(x, w, b);
    // 24 results of 4 MiB: more than this file's scopes took, so the next scope's area is laid out from the memory's start
    resultScope(() => {
      for (let j = 0; j < 24; j++) fastKernels.relu(fill(j, [64, 16, 32, 32]));
    });
    const expected = conv(x, copyOf(w), b);
    const got = resultScope(() => {
      for (let j = 0; j < 24; j++) fastKernels.relu(fill(j, [64, 16, 32, 32]));
      return conv(x, w, b);
    });
    expect(bitwiseEqual(got, expected)).toBe(true);
  });
});
