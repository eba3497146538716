import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { allFinite, convGeometry, fromNested, tensor } from '@foldnet/core';
import {
  bitwiseEqual,
  closeScalar,
  closeTo,
  convGeometryArb,
  keyArb,
  sameBytes,
  shapeArb,
  snapshotBytes,
  tensorArb,
} from '@foldnet/core/testing';

/* The testing helpers are public API (`@foldnet/core/testing`): they get tests of their own. */

const fcOptions = { seed: 42, numRuns: 200 };

describe('arbitraries', () => {
  it('shapeArb respects its rank and dimension bounds', () => {
    fc.assert(
      fc.property(shapeArb({ minRank: 2, maxRank: 3, minDim: 0, maxDim: 2 }), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(2);
        expect(s.length).toBeLessThanOrEqual(3);
        expect(s.every((d) => Number.isInteger(d) && d >= 0 && d <= 2)).toBe(true);
      }),
      fcOptions,
    );
  });

  it('tensorArb gives finite values within [min, max], of the asked dtype, for fixed shapes and shape arbitraries', () => {
    fc.assert(
      fc.property(
        tensorArb(shapeArb({ maxRank: 3 }), { dtype: 'float64', min: -3, max: 5 }),
        tensorArb([2, 3], { integer: true, min: -2, max: 2 }),
        (t, u) => {
          expect(t.dtype).toBe('float64');
          expect(allFinite(t)).toBe(true);
          expect(Array.from(t.data).every((v) => v >= -3 && v <= 5)).toBe(true);
          expect(u.dtype).toBe('float32');
          expect(u.shape).toEqual([2, 3]);
          expect(Array.from(u.data).every((v) => Number.isInteger(v) && v >= -2 && v <= 2)).toBe(true);
        },
      ),
      fcOptions,
    );
  });

  it('convGeometryArb gives only valid geometries within its bounds, non-square ones included', () => {
    let nonSquare = 0;
    fc.assert(
      fc.property(convGeometryArb({ maxBatch: 2, maxChannels: 2, maxInput: 6, maxFilter: 4, maxStride: 2, maxPad: 1 }), ({ xShape, params, geometry }) => {
        const [N, C, H, W] = xShape;
        expect(N >= 1 && N <= 2 && C >= 1 && C <= 2 && H <= 6 && W <= 6).toBe(true);
        expect(params.filterH <= 4 && params.filterW <= 4 && params.stride <= 2 && params.pad <= 1).toBe(true);
        expect(convGeometry('check', { inH: H, inW: W, ...params })).toEqual(geometry);
        if (H !== W || params.filterH !== params.filterW) nonSquare++;
      }),
      fcOptions,
    );
    expect(nonSquare).toBeGreaterThan(50);
  });

  it('convGeometryArb({ square: true }) gives square inputs and filters', () => {
    fc.assert(
      fc.property(convGeometryArb({ square: true }), ({ xShape: [, , H, W], params }) => H === W && params.filterH === params.filterW),
      fcOptions,
    );
  });

  it('keyArb gives valid keys, and different ones', () => {
    const keys = fc.sample(keyArb, { seed: 1, numRuns: 50 });
    expect(keys.every((k) => k.state.length === 4 && k.state.every((w) => Number.isInteger(w)))).toBe(true);
    expect(new Set(keys.map((k) => k.state.join(','))).size).toBeGreaterThan(40);
  });
});

describe('closeTo', () => {
  it('passes equal tensors with maxAbs 0', () => {
    expect(closeTo(fromNested([1, 2]), fromNested([1, 2]))).toMatchObject({ ok: true, maxAbs: 0 });
  });

  it('uses |a - b| <= atol + rtol * |b| and reports the first failing element', () => {
    const expected = fromNested([100, 1, 1], 'float64');
    expect(closeTo(fromNested([100.5, 1, 1], 'float64'), expected, { rtol: 1e-2, atol: 0 }).ok).toBe(true);
    const r = closeTo(fromNested([100, 1.5, 2], 'float64'), expected, { rtol: 1e-2, atol: 0 });
    expect(r).toMatchObject({ ok: false, at: 1, maxAbs: 1 });
    expect(r.message).toMatch(/^element 1: 1.5 vs expected 1 /);
  });

  it('fails on NaN against a number and on a shape mismatch; passes NaN against NaN and equal infinities', () => {
    expect(closeTo(fromNested([NaN]), fromNested([1])).ok).toBe(false);
    expect(closeTo(fromNested([NaN, Infinity]), fromNested([NaN, Infinity])).ok).toBe(true);
    expect(closeTo(fromNested([Infinity]), fromNested([-Infinity])).ok).toBe(false);
    expect(closeTo(fromNested([1e30]), fromNested([Infinity]), { rtol: 1 }).ok).toBe(false);
    const r = closeTo(fromNested([1, 2]), fromNested([[1, 2]]));
    expect(r.ok).toBe(false);
    expect(r.message).toBe('shapes differ: [2] and [1,2]');
  });

  it('compares across dtypes as doubles', () => {
    expect(closeTo(tensor([0.1]), tensor([0.1], [1], 'float64'), { rtol: 1e-7 }).ok).toBe(true);
    expect(closeTo(tensor([0.1]), tensor([0.1], [1], 'float64'), { rtol: 1e-10, atol: 0 }).ok).toBe(false);
  });
});

describe('closeScalar, snapshotBytes, sameBytes, bitwiseEqual', () => {
  it('closeScalar is relative to the larger magnitude', () => {
    expect(closeScalar(1e6, 1e6 + 1, { rtol: 1e-5, atol: 0 })).toBe(true);
    expect(closeScalar(1, 1.1, { rtol: 1e-5, atol: 0 })).toBe(false);
    expect(closeScalar(0, 1e-9)).toBe(true);
  });

  it('a snapshot is a copy: it does not follow later writes to the buffer', () => {
    const data = new Float32Array([1, 2, 3]);
    const t = tensor(data);
    const snap = snapshotBytes(t);
    expect(sameBytes(snap, t)).toBe(true);
    const writable = new Float32Array(t.data.buffer, t.data.byteOffset, t.size);
    writable[1] = 5; // simulating a buggy kernel that writes its input
    expect(sameBytes(snap, t)).toBe(false);
  });

  it('bitwiseEqual tells 0 from -0 and float32 from float64; NaN equals the same NaN', () => {
    expect(bitwiseEqual(tensor([0]), tensor([-0]))).toBe(false);
    expect(bitwiseEqual(tensor([1]), tensor([1], [1], 'float64'))).toBe(false);
    expect(bitwiseEqual(tensor([NaN]), tensor([NaN]))).toBe(true);
  });
});
