import { convGeometry, fastKernels, key, referenceKernels, uniform, type Tensor } from '@foldnet/core';
import { closeTo } from '@foldnet/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { setPackedForward } from '../src/fast/conv-packed.js';
import { setDirectConv } from '../src/fast/kernels.js';
import { setWinograd } from '../src/fast/winograd.js';

// pad.wat's padRows zeroes a padded row's left margin by vectors before copying the image row over it. It once zeroed
// only the first vector (4 floats), so with a pad of 5 or more the GEMM on the implicit im2col (forward and filter
// gradient) read whatever an earlier call had left in the shared memory there: wrong results, silently, once another
// shape had run. Each case runs after a call that fills the same memory with large values, and is compared with the
// reference backend.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
/** fast's result within 1e-5 of the reference's, element by element. */
const expectClose = (fast: Tensor, reference: Tensor, what: string): void => {
  const r = closeTo(fast, reference, { rtol: 0, atol: 1e-5 });
  expect(r.ok, `${what}: ${r.message}`).toBe(true);
};

/** A convolution of another shape whose padded copy of x holds large values where the case's margins will lie. */
const dirtyTheMemory = (): void => {
  const x = uniform(key(99), [2, 3, 24, 24], { low: 100, high: 200 });
  const w = fill(98, [4, 3, 3, 3]);
  const g = convGeometry('conv', { inH: 24, inW: 24, filterH: 3, pad: 1, stride: 2 });
  fastKernels.conv2dOut(x, w, fill(97, [4]), g);
  fastKernels.conv2dBackwardFromInput(fill(96, [2, 4, g.outH, g.outW]), x, w, g, true);
};

describe('padded rows: margins of any width are zeros', () => {
  afterEach(() => {
    setPackedForward(true);
    setDirectConv(true);
    setWinograd(true);
  });

  for (const pad of [4, 5, 7, 9]) {
    for (const [H, W] of [[5, 6], [6, 13]]) {
      it(`pad ${pad}, ${H}x${W}: the GEMM forward and filter gradient as the reference's`, () => {
        // every shape by the GEMM on the implicit im2col, which reads x through padRows' padded copy
        setPackedForward(false);
        setDirectConv(false);
        setWinograd(false);
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad, stride: 2 });
        const [x, w, b, dy] = [fill(1, [1, 2, H, W]), fill(2, [6, 2, 3, 3]), fill(3, [6]), fill(4, [1, 6, g.outH, g.outW])];
        dirtyTheMemory();
        expectClose(fastKernels.conv2dOut(x, w, b, g), referenceKernels.conv2dOut(x, w, b, g), 'forward');
        dirtyTheMemory();
        const fast = fastKernels.conv2dBackwardFromInput(dy, x, w, g, false);
        expectClose(fast.dw, referenceKernels.conv2dBackwardFromInput(dy, x, w, g, false).dw, 'filter gradient');
      });
    }
  }
});
