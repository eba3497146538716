import { convGeometry, fastKernels, key, referenceKernels, uniform, zeros } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { describe, expect, it } from 'vitest';

// A convolution's backward over an empty batch (N = 0, as predict and a last partial batch can give): every gradient is
// zeros, as the reference gives, on every path the shape would take with images (the lesson's 5x5, Winograd, stride 2
// by a GEMM, 1x1). The Winograd filter gradient once failed on it inside the memory's growth, and the GEMM's left dW
// unwritten.

describe('conv2dBackwardFromInput over an empty batch', () => {
  const cases = [
    { C: 1, K: 4, H: 12, size: 5, stride: 1, pad: 0 },
    { C: 16, K: 16, H: 8, size: 3, stride: 1, pad: 1 },
    { C: 16, K: 32, H: 8, size: 3, stride: 2, pad: 1 },
    { C: 16, K: 32, H: 8, size: 1, stride: 2, pad: 0 },
  ];
  for (const { C, K, H, size, stride, pad } of cases) {
    it(`x=[0,${C},${H},${H}] w=[${K},${C},${size},${size}] stride ${stride}: dx [0, ...], dW and db zeros, as the reference's`, () => {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: size, pad, stride });
      const x = zeros([0, C, H, H]);
      const w = uniform(key(K + size), [K, C, size, size]);
      const dy = zeros([0, K, g.outH, g.outW]);
      for (const [needDx, needDb] of [[true, true], [false, true], [true, false]] as const) {
        const fast = fastKernels.conv2dBackwardFromInput(dy, x, w, g, needDx, needDb);
        const ref = referenceKernels.conv2dBackwardFromInput(dy, x, w, g, needDx, needDb);
        expect(bitwiseEqual(fast.dw, zeros(w.shape))).toBe(true);
        expect(bitwiseEqual(fast.dw, ref.dw)).toBe(true);
        expect(fast.db === undefined ? undefined : Array.from(fast.db.data)).toEqual(needDb ? new Array(K).fill(0) : undefined);
        expect(fast.dx?.shape).toEqual(needDx ? [0, C, H, H] : undefined);
      }
    });
  }
});
