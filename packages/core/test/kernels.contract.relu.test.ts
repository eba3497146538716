import { fastKernels, fromData, fromNested, referenceKernels, type Kernels, type Tensor } from '@foldnet/core';
import { sameBytes, snapshotBytes } from '@foldnet/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// ReLU in the kernel contract: the lesson's mask (x <= 0) on every backend. The fast set works four lanes at a
// time with a scalar tail, so lengths around multiples of 4 matter, and so do NaN, -0 and the infinities.

const sets: readonly Kernels[] = [referenceKernels, fastKernels];

// Element-wise identity that tells -0 from +0 and NaN from numbers (NaN payloads may differ, their meaning not).
const sameValues = (a: Tensor, b: Tensor): boolean =>
  a.dtype === b.dtype && a.size === b.size && a.shape.join() === b.shape.join() && Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));

const special = fc.constantFrom(Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, -1e-45);
const element = fc.oneof(fc.float({ noNaN: false }), special, fc.float({ min: -2, max: 2, noNaN: true }));
const vector = fc.array(element, { minLength: 1, maxLength: 70 });

describe.each(sets.map((k) => [k.name, k] as const))('relu on the %s kernels', (_name, k) => {
  it('relu x=[NaN,-1,-0,0,2,Infinity,-Infinity] gives [NaN,0,0,0,2,Infinity,0]: NaN passes through the x <= 0 mask', () => {
    const y = k.relu(fromNested([Number.NaN, -1, -0, 0, 2, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]));
    expect(Array.from(y.data)).toEqual([Number.NaN, 0, 0, 0, 2, Number.POSITIVE_INFINITY, 0]);
    expect(Object.is(y.data[2], 0)).toBe(true); // -0 is masked to +0, as the lesson's out[mask] = 0
  });

  it('reluBackward x=[NaN,-1,0,3] dy=[5,6,7,8] gives [5,0,0,8], and a NaN dy is blocked where x <= 0', () => {
    const dx = k.reluBackward(fromNested([Number.NaN, -1, 0, 3]), fromNested([5, 6, 7, 8]));
    expect(Array.from(dx.data)).toEqual([5, 0, 0, 8]);
    const blocked = k.reluBackward(fromNested([-1, 2]), fromNested([Number.NaN, Number.NaN]));
    expect(Array.from(blocked.data)).toEqual([0, Number.NaN]);
  });

  it('relu and reluBackward x=[2,3,5] keep the shape, give fresh buffers and leave their inputs unchanged', () => {
    const x = fromData([2, 3, 5], Float32Array.from({ length: 30 }, (_, i) => i - 15));
    const dy = fromData([2, 3, 5], Float32Array.from({ length: 30 }, (_, i) => 1 + i));
    const [sx, sdy] = [snapshotBytes(x), snapshotBytes(dy)];
    const y = k.relu(x);
    const dx = k.reluBackward(x, dy);
    expect(y.shape).toEqual([2, 3, 5]);
    expect(dx.shape).toEqual([2, 3, 5]);
    expect(y.data.buffer).not.toBe(x.data.buffer);
    expect(dx.data.buffer).not.toBe(dy.data.buffer);
    expect(sameBytes(sx, x) && sameBytes(sdy, dy)).toBe(true);
    expect(Array.from(y.data)).toEqual(Array.from(x.data, (v) => (v <= 0 ? 0 : v)));
    expect(Array.from(dx.data)).toEqual(Array.from(x.data, (v, i) => (v <= 0 ? 0 : dy.data[i])));
  });
});

describe('fast relu equals reference', () => {
  it('relu on generated float32 vectors of length 1..70 (NaN, -0, infinities, subnormals) is identical', () => {
    fc.assert(
      fc.property(vector, (xs) => {
        const x = fromData([xs.length], Float32Array.from(xs));
        return sameValues(fastKernels.relu(x), referenceKernels.relu(x));
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('reluBackward on generated float32 x and dy of length 1..70 is identical', () => {
    fc.assert(
      fc.property(vector, fc.array(element, { minLength: 70, maxLength: 70 }), (xs, ds) => {
        const x = fromData([xs.length], Float32Array.from(xs));
        const dy = fromData([xs.length], Float32Array.from(ds.slice(0, xs.length)));
        return sameValues(fastKernels.reluBackward(x, dy), referenceKernels.reluBackward(x, dy));
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('relu and reluBackward on float64 x=[3,4] run the reference kernels (float64 out, same values)', () => {
    const x = fromNested([[-1, 0, 1, Number.NaN], [2, -3, 4, -0], [5, 6, -7, 8]], 'float64');
    const dy = fromNested([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], 'float64');
    expect(fastKernels.relu(x).dtype).toBe('float64');
    expect(sameValues(fastKernels.relu(x), referenceKernels.relu(x))).toBe(true);
    expect(sameValues(fastKernels.reluBackward(x, dy), referenceKernels.reluBackward(x, dy))).toBe(true);
  });

  it('relu on x=[8,30,24,24] (a slice of the lesson conv output, not a small vector) is identical', () => {
    const n = 8 * 30 * 24 * 24;
    // a deterministic spread of signs and magnitudes, with NaN and -0 sprinkled in
    const data = Float32Array.from({ length: n }, (_, i) => (i % 9973 === 0 ? Number.NaN : i % 7919 === 0 ? -0 : Math.sin(i * 0.37) * (1 + (i % 13))));
    const x = fromData([8, 30, 24, 24], data);
    const dy = fromData([8, 30, 24, 24], Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11)));
    expect(sameValues(fastKernels.relu(x), referenceKernels.relu(x))).toBe(true);
    expect(sameValues(fastKernels.reluBackward(x, dy), referenceKernels.reluBackward(x, dy))).toBe(true);
  });
});
