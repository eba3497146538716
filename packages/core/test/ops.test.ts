import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import {
  add,
  addBias,
  allFinite,
  arange,
  argmax,
  dot,
  fromData,
  fromNested,
  kernels,
  map,
  matmul,
  max,
  maxAbsDiff,
  mul,
  permute,
  referenceKernels,
  scale,
  sliceRows,
  sub,
  sum,
  take,
  tensor,
  toArray,
  toNested,
  transpose,
  zip,
  type Kernels,
  type Shape,
  type Tensor,
} from '@foldnet/core';
import { bitwiseEqual, closeTo, shapeArb, tensorArb } from '@foldnet/core/testing';

/*
 * Every operation against a naive definition written from the maths (multi-indices, explicit
 * loops), on generated shapes.
 */

const fcOptions = { seed: 42, numRuns: 120 };

// flat index <-> multi-index, row-major
const unravel = (flat: number, shape: Shape): number[] => {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
};
const ravel = (idx: readonly number[], shape: Shape): number => idx.reduce((acc, v, d) => acc * shape[d] + v, 0);

// A shape with a random permutation of its axes.
const permuteCase = shapeArb({ minRank: 0, maxRank: 5, maxDim: 4 }).chain((shape) =>
  fc.tuple(
    tensorArb(shape, { dtype: 'float64' }),
    fc.shuffledSubarray(
      shape.map((_, i) => i),
      { minLength: shape.length, maxLength: shape.length },
    ),
  ),
);

describe('permute and transpose', () => {
  it('permute equals the index mapping out[i_0..i_r] = x[j] with j[axes[d]] = i_d', () => {
    fc.assert(
      fc.property(permuteCase, ([x, axes]) => {
        const y = permute(x, axes);
        expect(y.shape).toEqual(axes.map((a) => x.shape[a]));
        for (let o = 0; o < y.size; o++) {
          const out = unravel(o, y.shape);
          const inIdx = new Array<number>(axes.length);
          axes.forEach((a, d) => (inIdx[a] = out[d]));
          expect(y.data[o]).toBe(x.data[ravel(inIdx, x.shape)]);
        }
      }),
      fcOptions,
    );
  });

  it('permuting by axes then by their inverse gives x back bit for bit', () => {
    fc.assert(
      fc.property(permuteCase, ([x, axes]) => {
        const inverse = new Array<number>(axes.length);
        axes.forEach((a, d) => (inverse[a] = d));
        return bitwiseEqual(permute(permute(x, axes), inverse), x);
      }),
      fcOptions,
    );
  });

  it('permute x=[2,3,4] axes [2,0,1]', () => {
    const y = permute(arange([2, 3, 4]), [2, 0, 1]);
    expect(y.shape).toEqual([4, 2, 3]);
    expect(toNested(y)).toEqual([
      [[0, 4, 8], [12, 16, 20]],
      [[1, 5, 9], [13, 17, 21]],
      [[2, 6, 10], [14, 18, 22]],
      [[3, 7, 11], [15, 19, 23]],
    ]);
  });

  it('permute keeps the dtype (float64 stays float64)', () => {
    expect(permute(arange([2, 3], 'float64'), [1, 0]).dtype).toBe('float64');
  });

  it('transpose [[1,2,3],[4,5,6]]', () => {
    expect(toNested(transpose(fromNested([[1, 2, 3], [4, 5, 6]])))).toEqual([[1, 4], [2, 5], [3, 6]]);
  });
});

// op(a) read element-wise: the transpose flag picks the index order.
const naiveMatmul = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): number[] => {
  const M = transA ? a.shape[1] : a.shape[0];
  const K = transA ? a.shape[0] : a.shape[1];
  const N = transB ? b.shape[0] : b.shape[1];
  const A = (i: number, k: number) => (transA ? a.data[k * M + i] : a.data[i * K + k]);
  const B = (k: number, j: number) => (transB ? b.data[j * K + k] : b.data[k * N + j]);
  const out: number[] = [];
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
      out.push(s);
    }
  return out;
};

// Operands for op(a) [M,K] x op(b) [K,N] stored as the flags require.
const matmulCase = (opts: { dtype: 'float32' | 'float64'; integer: boolean; maxDim: number }) =>
  fc
    .record({
      M: fc.integer({ min: 1, max: opts.maxDim }),
      K: fc.integer({ min: 1, max: opts.maxDim }),
      N: fc.integer({ min: 1, max: opts.maxDim }),
      transA: fc.boolean(),
      transB: fc.boolean(),
    })
    .chain(({ M, K, N, transA, transB }) =>
      fc.record({
        a: tensorArb(transA ? [K, M] : [M, K], { dtype: opts.dtype, integer: opts.integer, min: -8, max: 8 }),
        b: tensorArb(transB ? [N, K] : [K, N], { dtype: opts.dtype, integer: opts.integer, min: -8, max: 8 }),
        transA: fc.constant(transA),
        transB: fc.constant(transB),
        shape: fc.constant([M, N]),
      }),
    );

describe('matmul', () => {
  const flagCombos = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const;

  for (const [transA, transB] of flagCombos) {
    it(`matmul transA=${transA} transB=${transB} equals the triple loop (float64, reference kernels)`, () => {
      fc.assert(
        fc.property(
          matmulCase({ dtype: 'float64', integer: false, maxDim: 7 }).filter((c) => c.transA === transA && c.transB === transB),
          ({ a, b, shape }) => {
            const y = matmul(a, b, { transA, transB, kernels: referenceKernels });
            expect(y.shape).toEqual(shape);
            expect(y.dtype).toBe('float64');
            const r = closeTo(y, tensor(naiveMatmul(a, b, transA, transB), shape, 'float64'), { rtol: 1e-12, atol: 1e-14 });
            expect(r.ok, r.message).toBe(true);
          },
        ),
        { seed: 11, numRuns: 60 },
      );
    });
  }

  it('matmul (current backend, float32) equals the triple loop exactly on small integers, all four flag combinations', () => {
    const current: Kernels = kernels();
    fc.assert(
      fc.property(matmulCase({ dtype: 'float32', integer: true, maxDim: 9 }), ({ a, b, transA, transB, shape }) => {
        // |sum| <= 9 * 64: exact in float32 whatever the summation order
        const y = matmul(a, b, { transA, transB, kernels: current });
        expect(Array.from(y.data)).toEqual(naiveMatmul(a, b, transA, transB));
        expect(y.shape).toEqual(shape);
      }),
      fcOptions,
    );
  });

  it('matmul [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]]', () => {
    expect(toNested(matmul(fromNested([[1, 2], [3, 4]]), fromNested([[5, 6], [7, 8]])))).toEqual([[19, 22], [43, 50]]);
  });

  it('matmul [2,0] x [0,3] is a [2,3] of zeros (empty inner dimension)', () => {
    const y = matmul(tensor([], [2, 0]), tensor([], [0, 3]));
    expect(y.shape).toEqual([2, 3]);
    expect(toArray(y)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('reference matmul keeps IEEE semantics: 0 x Infinity is NaN', () => {
    const y = matmul(fromNested([[0, 1]], 'float64'), fromNested([[Infinity], [1]], 'float64'), { kernels: referenceKernels });
    expect(Number.isNaN(y.data[0])).toBe(true);
  });
});

// Reductions: the output index is the input index with the reduced axes dropped (or set to 0).
const axesCase = shapeArb({ minRank: 1, maxRank: 4, maxDim: 4 }).chain((shape) =>
  fc.tuple(
    tensorArb(shape, { dtype: 'float64', integer: true, min: -3, max: 3 }),
    fc.subarray(shape.map((_, i) => i)),
    fc.boolean(),
  ),
);

describe('sum', () => {
  it('sum over any subset of axes equals accumulating each element into its reduced index', () => {
    fc.assert(
      fc.property(axesCase, ([x, axes, keepDims]) => {
        const y = sum(x, axes, keepDims);
        const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const expected = new Array<number>(keptShape.reduce((p, d) => p * d, 1)).fill(0);
        for (let i = 0; i < x.size; i++) {
          const idx = unravel(i, x.shape).map((v, d) => (axes.includes(d) ? 0 : v));
          expected[ravel(idx, keptShape)] += x.data[i];
        }
        expect(y.shape).toEqual(keepDims ? keptShape : x.shape.filter((_, i) => !axes.includes(i)));
        expect(toArray(y)).toEqual(expected);
      }),
      fcOptions,
    );
  });

  it('sum with no axes given reduces everything to a scalar', () => {
    const y = sum(arange([2, 3, 4], 'float64'));
    expect(y.shape).toEqual([]);
    expect(y.data[0]).toBe((23 * 24) / 2);
  });

  it('sum x=[2,3] axis 0 and axis -1 (negative axes count from the end)', () => {
    expect(toArray(sum(arange([2, 3]), 0))).toEqual([3, 5, 7]);
    expect(toArray(sum(arange([2, 3]), -1))).toEqual([3, 12]);
    expect(sum(arange([2, 3]), -1, true).shape).toEqual([2, 1]);
  });

  it('sum over an axis of length 0 gives zeros', () => {
    expect(toArray(sum(tensor([], [3, 0]), 1))).toEqual([0, 0, 0]);
  });
});

describe('max and argmax', () => {
  const axisCase = shapeArb({ minRank: 1, maxRank: 4, maxDim: 4 }).chain((shape) =>
    fc.tuple(
      // few distinct values so that ties are common
      tensorArb(shape, { dtype: 'float32', integer: true, min: -2, max: 2 }),
      fc.integer({ min: -shape.length, max: shape.length - 1 }),
      fc.boolean(),
    ),
  );

  it('max and argmax along an axis equal a scan that keeps the first maximum (ties are frequent)', () => {
    fc.assert(
      fc.property(axisCase, ([x, axis, keepDims]) => {
        const ax = axis < 0 ? axis + x.shape.length : axis;
        const outShape = x.shape.filter((_, i) => i !== ax);
        const best = new Array<number>(x.size / x.shape[ax]).fill(-Infinity);
        const at = new Array<number>(best.length).fill(-1);
        for (let i = 0; i < x.size; i++) {
          const idx = unravel(i, x.shape);
          const o = ravel(idx.filter((_, d) => d !== ax), outShape);
          if (x.data[i] > best[o]) {
            best[o] = x.data[i];
            at[o] = idx[ax];
          }
        }
        const m = max(x, axis, keepDims);
        expect(m.shape).toEqual(keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : outShape);
        expect(toArray(m)).toEqual(best);
        const am = argmax(x, axis);
        expect(am.shape).toEqual(outShape);
        expect(Array.from(am.data)).toEqual(at);
        // the index points at the maximum
        for (let o = 0; o < best.length; o++) expect(am.data[o]).toBeGreaterThanOrEqual(0);
      }),
      fcOptions,
    );
  });

  it('argmax [[1,5,5],[7,2,7]] along axis 1 takes the first of tied maxima: [1,0]', () => {
    expect(Array.from(argmax(fromNested([[1, 5, 5], [7, 2, 7]]), 1).data)).toEqual([1, 0]);
  });

  it('argmax [[3,3],[3,3]] along axis 0 is [0,0]', () => {
    expect(Array.from(argmax(fromNested([[3, 3], [3, 3]]), 0).data)).toEqual([0, 0]);
  });

  it('max and argmax of [-Infinity, -Infinity] are -Infinity at 0', () => {
    const x = tensor([-Infinity, -Infinity]);
    expect(toArray(max(x, 0))).toEqual([-Infinity]);
    expect(Array.from(argmax(x, 0).data)).toEqual([0]);
  });

  it('NaN wins max and argmax (the first NaN), as numpy: a diverged value is not hidden', () => {
    const x = fromNested([[1, NaN, 5, NaN], [NaN, 2, 3, 4], [1, 2, 3, 4]]);
    expect(toArray(max(x, 1)).map(String)).toEqual(['NaN', 'NaN', '4']);
    expect(Array.from(argmax(x, 1).data)).toEqual([1, 0, 3]);
  });
});

describe('addBias', () => {
  const biasCase = shapeArb({ minRank: 1, maxRank: 4, maxDim: 4 }).chain((shape) =>
    fc.integer({ min: 0, max: shape.length - 1 }).chain((axis) =>
      fc.tuple(
        tensorArb(shape, { dtype: 'float64' }),
        tensorArb([shape[axis]], { dtype: 'float64' }),
        fc.constant(axis),
      ),
    ),
  );

  it('addBias(x, b, axis)[i] = x[i] + b[i_axis] on generated shapes and axes', () => {
    fc.assert(
      fc.property(biasCase, ([x, b, axis]) => {
        const y = addBias(x, b, axis);
        expect(y.shape).toEqual(x.shape);
        for (let i = 0; i < x.size; i++) expect(y.data[i]).toBe(x.data[i] + b.data[unravel(i, x.shape)[axis]]);
      }),
      fcOptions,
    );
  });

  it('addBias x=[2,3] b=[3] broadcasts along the last axis by default', () => {
    expect(toNested(addBias(arange([2, 3]), fromNested([10, 20, 30])))).toEqual([[10, 21, 32], [13, 24, 35]]);
  });

  it('addBias x=[1,2,2,2] b=[2] axis=1 adds one value per channel', () => {
    expect(toArray(addBias(arange([1, 2, 2, 2]), fromNested([100, 200]), 1))).toEqual([100, 101, 102, 103, 204, 205, 206, 207]);
  });
});

describe('take and sliceRows', () => {
  const rowsCase = shapeArb({ minRank: 1, maxRank: 4, maxDim: 5 }).chain((shape) =>
    fc.tuple(
      tensorArb(shape),
      fc.array(fc.integer({ min: 0, max: shape[0] - 1 }), { maxLength: 8 }),
      fc.integer({ min: 0, max: shape[0] }).chain((start) => fc.tuple(fc.constant(start), fc.integer({ min: start, max: shape[0] }))),
    ),
  );

  it('take(x, indices) stacks rows indices[0], indices[1], ... (repeats allowed)', () => {
    fc.assert(
      fc.property(rowsCase, ([x, indices]) => {
        const inner = x.size / x.shape[0];
        const y = take(x, indices);
        expect(y.shape).toEqual([indices.length, ...x.shape.slice(1)]);
        expect(toArray(y)).toEqual(indices.flatMap((r) => toArray(x).slice(r * inner, (r + 1) * inner)));
      }),
      fcOptions,
    );
  });

  it('sliceRows(x, start, end) equals take(x, [start..end-1]) and shares the buffer', () => {
    fc.assert(
      fc.property(rowsCase, ([x, , [start, end]]) => {
        const y = sliceRows(x, start, end);
        const range = Array.from({ length: end - start }, (_, i) => start + i);
        expect(bitwiseEqual(y, take(x, range))).toBe(true);
        expect(y.data.buffer).toBe(x.data.buffer);
      }),
      fcOptions,
    );
  });

  it('sliceRows of a slice (nested byte offsets) reads the right rows, float64', () => {
    const x = arange([6, 2], 'float64');
    expect(toNested(sliceRows(sliceRows(x, 2, 6), 1, 3))).toEqual([[6, 7], [8, 9]]);
  });

  it('take accepts an Int32Array of indices (as randomIndices gives)', () => {
    expect(toNested(take(arange([3, 2]), Int32Array.from([2, 0])))).toEqual([[4, 5], [0, 1]]);
  });
});

describe('element-wise operations', () => {
  const pairCase = shapeArb({ maxRank: 3 }).chain((s) => fc.tuple(tensorArb(s, { dtype: 'float64' }), tensorArb(s, { dtype: 'float64' })));

  it('add, sub, mul, zip and map act element by element; dot and maxAbsDiff agree with their definitions', () => {
    fc.assert(
      fc.property(pairCase, fc.double({ min: -4, max: 4, noNaN: true }), ([a, b], s) => {
        const A = toArray(a);
        const B = toArray(b);
        expect(toArray(add(a, b))).toEqual(A.map((v, i) => v + B[i]));
        expect(toArray(sub(a, b))).toEqual(A.map((v, i) => v - B[i]));
        expect(toArray(mul(a, b))).toEqual(A.map((v, i) => v * B[i]));
        expect(toArray(zip(a, b, (p, q, i) => p * 2 - q + i))).toEqual(A.map((v, i) => v * 2 - B[i] + i));
        expect(toArray(map(a, (v, i) => v * v + i))).toEqual(A.map((v, i) => v * v + i));
        expect(toArray(scale(a, s))).toEqual(A.map((v) => v * s));
        expect(dot(a, b)).toBe(A.reduce((acc, v, i) => acc + v * B[i], 0));
        expect(maxAbsDiff(a, b)).toBe(A.reduce((m, v, i) => Math.max(m, Math.abs(v - B[i])), 0));
        expect(add(a, b).shape).toEqual(a.shape);
      }),
      fcOptions,
    );
  });

  it('map keeps float32 rounding: map(float32 x, v => v / 3) is rounded to float32', () => {
    const y = map(tensor([1]), (v) => v / 3);
    expect(y.dtype).toBe('float32');
    expect(y.data[0]).toBe(Math.fround(1 / 3));
  });

  it('maxAbsDiff reports NaN when an element is NaN; allFinite spots NaN and Infinity', () => {
    expect(maxAbsDiff(tensor([1, NaN]), tensor([1, 2]))).toBeNaN();
    expect(allFinite(tensor([1, 2]))).toBe(true);
    expect(allFinite(tensor([1, NaN]))).toBe(false);
    expect(allFinite(tensor([Infinity]))).toBe(false);
  });

  it('allFinite is false exactly when an element is NaN or ±Infinity: generated float32 and float64 tensors with such a value planted anywhere, and huge finite values', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom('float32' as const, 'float64' as const),
        fc.constantFrom(Number.NaN, Infinity, -Infinity, null),
        fc.nat(),
        fc.boolean(),
        (n, dtype, planted, at, huge) => {
          // huge: every element at the type's largest finite magnitude, same sign (a float32 sum in float64 stays finite)
          const big = dtype === 'float32' ? 3.4028234663852886e38 : 1.7976931348623157e308;
          const values = Array.from({ length: n }, (_, i) => (huge ? big : Math.sin(i) * 1e3));
          if (planted !== null) values[at % n] = planted;
          const t = fromData([n], dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values));
          expect(allFinite(t)).toBe(planted === null);
        },
      ),
      { seed: 71, numRuns: 300 },
    );
  });
});
