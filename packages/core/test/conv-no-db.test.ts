import { convGeometry, fastKernels, key, referenceKernels, split, traceConvPaths, uniform, type Key, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { describe, expect, it } from 'vitest';

// A convolution without a bias asks its backward for no db (conv2dBackwardFromInput's needDb false): the fast kernels
// then skip the pass over dy that a filter gradient by Winograd made for db alone. dx and dW keep their bits.

const fill = (k: Key, shape: readonly number[]): Tensor => uniform(k, shape, { low: -1, high: 1 });

describe('conv2dBackwardFromInput without db', () => {
  // a Winograd filter gradient (16 -> 16 at 12x12), a GEMM one (stride 2), the lesson's first layer (one channel)
  const cases = [
    { x: [3, 16, 12, 12], w: [16, 16, 3, 3], stride: 1, pad: 1, dW: 'Winograd F(4x4,3x3)' },
    { x: [3, 16, 12, 12], w: [8, 16, 3, 3], stride: 2, pad: 1, dW: 'GEMM' },
    { x: [4, 1, 12, 12], w: [6, 1, 5, 5], stride: 1, pad: 0, dW: 'GEMM' },
  ];
  for (const c of cases) {
    it(`x=[${c.x}] w=[${c.w}] stride ${c.stride}: the same dx and dW as with db, db undefined (fast, filter gradient by ${c.dW}; reference)`, () => {
      const [kx, kw, kd] = split(key(c.w[0] ?? 0), 3);
      const x = fill(kx, c.x);
      const w = fill(kw, c.w);
      const g = convGeometry('conv', { inH: c.x[2] ?? 0, inW: c.x[3] ?? 0, filterH: c.w[2] ?? 0, pad: c.pad, stride: c.stride });
      const dy = fill(kd, [c.x[0] ?? 0, c.w[0] ?? 0, g.outH, g.outW]);
      for (const k of [fastKernels, referenceKernels]) {
        const withDb = k.conv2dBackwardFromInput(dy, x, w, g, true);
        const { result: without, paths } = traceConvPaths(() => k.conv2dBackwardFromInput(dy, x, w, g, true, false));
        expect(without.db).toBeUndefined();
        expect(withDb.db?.shape).toEqual([c.w[0]]);
        expect(bitwiseEqual(without.dw, withDb.dw)).toBe(true);
        expect(without.dx !== undefined && withDb.dx !== undefined && bitwiseEqual(without.dx, withDb.dx)).toBe(true);
        if (k === fastKernels) expect(paths.find((p) => p.pass === 'filter gradient')?.algorithm).toBe(c.dW);
      }
    });
  }
});
