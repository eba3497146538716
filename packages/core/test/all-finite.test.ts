import { allFinite, fastKernels, fromData, referenceKernels, resultScope, sliceRows, type Tensor } from '@foldnet/core';
import { describe, expect, it } from 'vitest';

/*
 * allFinite is a kernel: the fast set tests a view of its memory (a result made in a scope, as a training step's
 * gradients are) where it lies, by wasm/finite.wat's finiteF32, and any other array by the reference's loop; ops.ts's
 * allFinite asks the current set (or `opts.kernels`). Every way must say false exactly
 * when some element is NaN or ±Infinity, wherever it is (finiteF32 takes 4 floats at a time, then the rest one by one),
 * and true for -0 and the largest float32 values.
 */

const inMemory = (t: Tensor): boolean => t.data.buffer instanceof SharedArrayBuffer;
/** Lengths with every remainder of 4, and long ones. */
const lengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 257, 1003];
const planted = [Number.NaN, Infinity, -Infinity, -0, 3.4028234663852886e38, -3.4028234663852886e38];
const finitePlanted = (v: number): boolean => Number.isFinite(v);
/** n float32 values, finite, with `value` at `at`. */
const valuesWith = (n: number, at: number, value: number): Float32Array => {
  const d = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
  d[at] = value;
  return d;
};

describe('allFinite', () => {
  it('on plain float32 arrays: false exactly when NaN or ±Infinity is at any position, true for -0 and ±max, short and long arrays', () => {
    for (const n of lengths) {
      for (const value of planted) {
        for (let at = 0; at < n; at++) {
          const t = fromData([n], valuesWith(n, at, value));
          for (const kernels of [fastKernels, referenceKernels]) expect(allFinite(t, { kernels })).toBe(finitePlanted(value));
          expect(allFinite(t)).toBe(finitePlanted(value));
        }
      }
    }
  });

  it('on views of the kernels\' memory (results in a scope, also a view of its later rows): the same answers', () => {
    for (const n of lengths) {
      // x + (-0) is x for every x, -0 included: the view holds the planted values as they are
      const negativeZeros = fromData([n], new Float32Array(n).fill(-0));
      for (const value of planted) {
        resultScope(() => {
          for (let at = 0; at < n; at++) {
            const view = fastKernels.add(fromData([n], valuesWith(n, at, value)), negativeZeros);
            expect(inMemory(view)).toBe(true);
            expect(Number.isNaN(value) ? Number.isNaN(view.data[at]) : Object.is(view.data[at], value)).toBe(true);
            expect(fastKernels.allFinite(view)).toBe(finitePlanted(value));
            // the reference's loop reads the view as any array: the same answer
            expect(referenceKernels.allFinite(view)).toBe(finitePlanted(value));
          }
        });
      }
    }
    // a view that does not start where its result does: rows 1.. of a [3, n] result
    resultScope(() => {
      const n = 7;
      for (let at = 0; at < 3 * n; at++) {
        const all = fastKernels.add(fromData([3, n], valuesWith(3 * n, at, Number.NaN)), fromData([3, n], new Float32Array(3 * n)));
        const rows = sliceRows(all, 1, 3);
        expect(inMemory(rows)).toBe(true);
        expect(fastKernels.allFinite(rows)).toBe(at < n);
      }
    });
  });

  it('on float64 arrays: values whose sum would overflow are finite; NaN and ±Infinity anywhere are not', () => {
    for (const kernels of [fastKernels, referenceKernels]) {
      expect(allFinite(fromData([3], new Float64Array([1e308, 1e308, -0])), { kernels })).toBe(true);
      for (const value of [Number.NaN, Infinity, -Infinity]) {
        for (let at = 0; at < 5; at++) {
          const d = new Float64Array([1, 2, 3, 4, 5]);
          d[at] = value;
          expect(allFinite(fromData([5], d), { kernels })).toBe(false);
        }
      }
    }
  });

  it('an empty view and an empty array are all finite', () => {
    expect(allFinite(fromData([0], new Float32Array(0)))).toBe(true);
    resultScope(() => {
      const empty = fastKernels.add(fromData([0], new Float32Array(0)), fromData([0], new Float32Array(0)));
      expect(allFinite(empty)).toBe(true);
    });
  });
});
