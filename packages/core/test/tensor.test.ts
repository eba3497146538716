import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import {
  arange,
  cast,
  copyData,
  dtypeOfData,
  fromData,
  fromNested,
  full,
  isDType,
  isTensor,
  item,
  ones,
  reshape,
  scalar,
  sizeOf,
  stridesOf,
  tensor,
  toArray,
  toNested,
  zeros,
  normalizeAxis,
  formatShape,
  type Nested,
} from '@foldnet/core';
import { bitwiseEqual, shapeArb, tensorArb } from '@foldnet/core/testing';

const fcOptions = { seed: 42, numRuns: 100 };

describe('constructors', () => {
  it('zeros, ones, full, arange: shape, dtype (float32 by default) and values', () => {
    expect(zeros([2, 3])).toMatchObject({ shape: [2, 3], size: 6, dtype: 'float32' });
    expect(toArray(zeros([2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(toArray(ones([2], 'float64'))).toEqual([1, 1]);
    expect(ones([2], 'float64').dtype).toBe('float64');
    expect(toArray(full([3], 7))).toEqual([7, 7, 7]);
    expect(toNested(arange([2, 3]))).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('tensor copies its values and rounds them to float32 unless asked for float64', () => {
    const values = [0.1, 0.2];
    const t = tensor(values, [2]);
    values[0] = 99;
    expect(toArray(t)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(toArray(tensor([0.1], [1], 'float64'))).toEqual([0.1]);
  });

  it('tensor with no shape is 1-D', () => {
    expect(tensor([1, 2, 3]).shape).toEqual([3]);
  });

  it('a tensor and its shape are frozen; the shape is a copy of the one given', () => {
    const shape = [2, 2];
    const t = zeros(shape);
    shape[0] = 5;
    expect(t.shape).toEqual([2, 2]);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });

  it('fromData wraps the buffer without copying, and reads the dtype from it', () => {
    const data = new Float64Array([1, 2, 3, 4]);
    const t = fromData([2, 2], data);
    expect(t.data).toBe(data);
    expect(t.dtype).toBe('float64');
    expect(dtypeOfData(new Float32Array(1))).toBe('float32');
  });

  it('scalar and item: a 0-d tensor holds one value', () => {
    const s = scalar(3, 'float64');
    expect(s.shape).toEqual([]);
    expect(s.size).toBe(1);
    expect(item(s)).toBe(3);
    expect(item(tensor([5], [1, 1]))).toBe(5);
    expect(toNested(s)).toBe(3);
  });

  it('empty tensors: zeros([0, 3]) has size 0 and nests as []', () => {
    const t = zeros([0, 3]);
    expect(t.size).toBe(0);
    expect(toNested(t)).toEqual([]);
    expect(toNested(zeros([2, 0]))).toEqual([[], []]);
  });
});

describe('fromNested and toNested', () => {
  it('fromNested reads the shape from the nesting', () => {
    expect(fromNested([[1, 2, 3], [4, 5, 6]]).shape).toEqual([2, 3]);
    expect(fromNested([[[1], [2]]]).shape).toEqual([1, 2, 1]);
    expect(fromNested(4).shape).toEqual([]);
    expect(fromNested([]).shape).toEqual([0]);
  });

  it('toNested(fromNested(n)) = n on generated nestings (float64 keeps every value)', () => {
    fc.assert(
      fc.property(tensorArb(shapeArb({ minRank: 0, maxRank: 4 }), { dtype: 'float64' }), (t) => {
        const nested: Nested = toNested(t);
        const back = fromNested(nested, 'float64');
        expect(bitwiseEqual(back, t)).toBe(true);
      }),
      fcOptions,
    );
  });
});

describe('reshape', () => {
  const reshapeCase = tensorArb(shapeArb({ minRank: 1, maxRank: 4 })).chain((t) =>
    fc.tuple(fc.constant(t), shapeArb({ minRank: 1, maxRank: 4, maxDim: t.size }).filter((s) => sizeOf(s) === t.size)),
  );

  it('reshape keeps the elements in row-major order and shares the buffer', () => {
    fc.assert(
      fc.property(reshapeCase, ([t, shape]) => {
        const r = reshape(t, shape);
        expect(r.shape).toEqual(shape);
        expect(r.data).toBe(t.data);
        // row-major: element at multi-index i sits at flat offset sum(i_d * stride_d), same flat offset as before
        expect(toArray(r)).toEqual(toArray(t));
      }),
      { ...fcOptions, numRuns: 60 },
    );
  });

  it('reshape with one -1 infers that dimension', () => {
    fc.assert(
      fc.property(reshapeCase, fc.nat(), ([t, shape], pick) => {
        const at = pick % shape.length;
        const withHole = shape.map((d, i) => (i === at ? -1 : d));
        expect(reshape(t, withHole).shape).toEqual(shape);
      }),
      { ...fcOptions, numRuns: 60 },
    );
  });

  it('reshape to the same shape returns the tensor itself; reshape there and back is the identity', () => {
    const t = arange([2, 6]);
    expect(reshape(t, [2, 6])).toBe(t);
    expect(bitwiseEqual(reshape(reshape(t, [3, 4]), [2, 6]), t)).toBe(true);
    expect(toNested(reshape(t, [3, -1]))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  });
});

describe('cast and copyData', () => {
  it('cast float64 -> float32 rounds; cast to the same dtype is the identity', () => {
    const t = tensor([0.1, 1e40], [2], 'float64');
    expect(toArray(cast(t, 'float32'))).toEqual([Math.fround(0.1), Infinity]);
    expect(cast(t, 'float64')).toBe(t);
  });

  it('copyData is a fresh writable copy', () => {
    const t = arange([3]);
    const c = copyData(t);
    c[0] = 9;
    expect(toArray(t)).toEqual([0, 1, 2]);
    expect(c).toBeInstanceOf(Float32Array);
  });
});

describe('shape helpers', () => {
  it('stridesOf([2,3,4]) = [12,4,1]; sizeOf([]) = 1; formatShape([2,3]) = "[2,3]"', () => {
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(sizeOf([])).toBe(1);
    expect(formatShape([2, 3])).toBe('[2,3]');
  });

  it('normalizeAxis counts negative axes from the end', () => {
    expect(normalizeAxis('op', -1, [2, 3, 4])).toBe(2);
    expect(normalizeAxis('op', 0, [2, 3, 4])).toBe(0);
  });

  it('isTensor and isDType recognise their values', () => {
    expect(isTensor(zeros([1]))).toBe(true);
    expect(isTensor({ shape: [1] })).toBe(false);
    expect(isTensor(null)).toBe(false);
    expect(isDType('float64')).toBe(true);
    expect(isDType('int8')).toBe(false);
  });
});
