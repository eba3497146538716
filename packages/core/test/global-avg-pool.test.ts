import { alloc, type DType, fastKernels, fromData, key, referenceKernels, resultScope, setThreads, type Shape, type Tensor, uniform } from '@foldnet/core';
import { sameBytes, snapshotBytes } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isMemoryView } from '../src/fast/layout.js';
import { untilAWorkerTakesPart } from './workers.js';

/*
 * Global average pooling in the kernel contract: both sets against the loop the layer ran before it was a kernel (kept
 * here as the oracle of its bits: each plane's sum a double, four planes side by side, divided and rounded once when
 * stored; dy / S rounded once), on generated shapes (one plane, many, odd sizes, planes shorter than a vector, plane
 * counts past multiples of 8), float32 and float64, at 1 and 2 threads.
 */

// Bit for bit, but for NaN's sign and payload: which NaN a sum of two gives depends on the order the compiled code
// takes the operands in, which neither JavaScript nor WebAssembly fix (a NaN stays a NaN, its bits are not promised).
const sameValues = (a: Tensor, b: Tensor): boolean =>
  a.dtype === b.dtype && a.shape.join() === b.shape.join() && Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));

const layerForward = (x: Tensor): Tensor => {
  const [N, C, H, W] = x.shape;
  const S = H * W;
  const y = alloc(x.dtype, N * C);
  const xd = x.data;
  let p = 0;
  for (; p + 4 <= N * C; p += 4) {
    let [s0, s1, s2, s3] = [0, 0, 0, 0];
    for (let s = p * S, e = s + S; s < e; s++) {
      s0 += xd[s];
      s1 += xd[s + S];
      s2 += xd[s + 2 * S];
      s3 += xd[s + 3 * S];
    }
    [y[p], y[p + 1], y[p + 2], y[p + 3]] = [s0 / S, s1 / S, s2 / S, s3 / S];
  }
  for (; p < N * C; p++) {
    let sum = 0;
    for (let s = p * S; s < (p + 1) * S; s++) sum += xd[s];
    y[p] = sum / S;
  }
  return fromData([N, C], y);
};

const layerPullback = (dy: Tensor, xShape: Shape): Tensor => {
  const [N, C, H, W] = xShape;
  const S = H * W;
  const dx = alloc(dy.dtype, N * C * S);
  for (let p = 0; p < N * C; p++) dx.fill(dy.data[p] / S, p * S, (p + 1) * S);
  return fromData(xShape, dx);
};

const sets = [referenceKernels, fastKernels] as const;

// values with large magnitudes next to small ones (so that the order of the sum shows in its bits), and specials
const poolInput = (seed: number, shape: Shape, dtype: DType, special: boolean): Tensor => {
  const u = uniform(key(seed), shape, { low: -1, high: 1, dtype });
  const values = Array.from(u.data, (v, i) => (special && i % 11 === 3 ? [Number.NaN, Infinity, -Infinity, -0][i % 4] : i % 5 === 0 ? v * 2 ** 20 : v));
  return fromData(shape, dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values));
};

const shapeCase = fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  C: fc.oneof(fc.constantFrom(1, 3, 4, 5, 8, 9), fc.integer({ min: 1, max: 40 })),
  H: fc.oneof(fc.constantFrom(1, 2, 3, 7), fc.integer({ min: 1, max: 13 })),
  W: fc.oneof(fc.constantFrom(1, 2, 3, 7), fc.integer({ min: 1, max: 13 })),
});

const expectPoolBits = (shape: Shape, dtype: DType, seed: number, special: boolean): void => {
  const x = poolInput(seed, shape, dtype, special);
  const dy = poolInput(seed + 1, [shape[0], shape[1]], dtype, special);
  const [y, dx] = [layerForward(x), layerPullback(dy, shape)];
  for (const k of sets) {
    const label = `${k.name} x=[${shape.join(',')}] ${dtype}`;
    const ky = k.globalAvgPool2d(x);
    expect(ky.shape, label).toEqual([shape[0], shape[1]]);
    expect(ky.dtype, label).toBe(dtype);
    expect(sameValues(ky, y), `${label}: forward`).toBe(true);
    expect(sameValues(k.globalAvgPool2dBackward(dy, shape), dx), `${label}: pullback`).toBe(true);
  }
};

afterEach(() => {
  setThreads(1);
});

describe('globalAvgPool2d on every kernel set gives the bits of the layer loop', () => {
  it('generated N, C, H, W (one plane, many, H W < 4, odd sizes) in float32 and float64, with specials', () => {
    fc.assert(
      fc.property(shapeCase, fc.nat(1000), fc.constantFrom<DType>('float32', 'float64'), fc.boolean(), ({ N, C, H, W }, seed, dtype, special) =>
        expectPoolBits([N, C, H, W], dtype, seed, special),
      ),
      { seed: 61, numRuns: 150 },
    );
  });

  it('x=[1,1,1,1], x=[1,1,2,2] and x=[2,3,1,3]: a single element, one vector, planes shorter than a vector', () => {
    for (const shape of [[1, 1, 1, 1], [1, 1, 2, 2], [2, 3, 1, 3]]) expectPoolBits(shape, 'float32', 7, false);
  });

  it('a plane of -0 averages to +0 (the sum starts at +0), a NaN stays in its plane', () => {
    const x = fromData([1, 3, 1, 2], Float32Array.of(-0, -0, 1, Number.NaN, 2, 4));
    for (const k of sets) expect(Array.from(k.globalAvgPool2d(x).data).map((v) => (Object.is(v, -0) ? '-0' : v)), k.name).toEqual([0, Number.NaN, 3]);
  });

  it('inputs unchanged, fresh results', () => {
    const x = poolInput(3, [2, 5, 3, 3], 'float32', false);
    const dy = poolInput(4, [2, 5], 'float32', false);
    const [sx, sdy] = [snapshotBytes(x), snapshotBytes(dy)];
    for (const k of sets) {
      const y = k.globalAvgPool2d(x);
      const dx = k.globalAvgPool2dBackward(dy, x.shape);
      expect(y.data.buffer === x.data.buffer || dx.data.buffer === dy.data.buffer).toBe(false);
    }
    expect(sameBytes(sx, x) && sameBytes(sdy, dy)).toBe(true);
  });
});

describe('the fast set pools in its WebAssembly memory', () => {
  it('x=[100,64,7,7] (resnet\'s head), in a result scope: both results are views of the kernels\' memory, read in place by the next call', () => {
    const x = poolInput(5, [100, 64, 7, 7], 'float32', false);
    const dy = poolInput(6, [100, 64], 'float32', false);
    const want = { y: layerForward(x), dx: layerPullback(dy, x.shape) };
    resultScope(() => {
      const y = fastKernels.globalAvgPool2d(fastKernels.add(x, fromData(x.shape, new Float32Array(x.size))));
      const dx = fastKernels.globalAvgPool2dBackward(fastKernels.add(dy, fromData(dy.shape, new Float32Array(dy.size))), x.shape);
      expect(isMemoryView(y.data) && isMemoryView(dx.data)).toBe(true);
      expect(sameValues(y, want.y) && sameValues(dx, want.dx)).toBe(true);
      return 0;
    });
  });

  it('split across 2 threads by planes (x=[100,64,7,7], x=[3,7,113,111]: plane counts past a multiple of 8, sizes not multiples of 4): the same bits', () => {
    for (const shape of [[100, 64, 7, 7], [3, 7, 113, 111]]) {
      const x = poolInput(8, shape, 'float32', true);
      const dy = poolInput(9, [shape[0], shape[1]], 'float32', true);
      const [y, dx] = [layerForward(x), layerPullback(dy, shape)];
      untilAWorkerTakesPart(() => expect(sameValues(fastKernels.globalAvgPool2d(x), y)).toBe(true));
      untilAWorkerTakesPart(() => expect(sameValues(fastKernels.globalAvgPool2dBackward(dy, shape), dx)).toBe(true));
    }
  });
});
