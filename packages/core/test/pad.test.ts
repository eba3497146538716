import { setThreads } from '@foldnet/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';
import { workspace } from '../src/fast/layout.js';
import { padPlanes } from '../src/fast/pad.js';
import { f32 } from '../src/fast/wasm.js';

/*
 * pad.wat's padPlanes writes every float of its planes once (the image and its margins), without zeroing the planes
 * first: so the destination is filled with NaN beforehand, and any float it failed to write would show.
 */

/** The padded planes as the definition says: the image at (pad, pad), 0 elsewhere. */
const expected = (src: Float32Array, planes: number, H: number, W: number, pad: number, Hq: number, Wq: number): Float32Array => {
  const out = new Float32Array(planes * Hq * Wq);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(p * Hq + y + pad) * Wq + x + pad] = src[(p * H + y) * W + x];
  return out;
};

const run = (src: Float32Array, planes: number, H: number, W: number, pad: number, Hq: number, Wq: number): Float32Array => {
  const [ps, pd] = workspace([src.length, planes * Hq * Wq + 16]);
  const mem = f32();
  mem.set(src, ps / 4);
  mem.fill(Number.NaN, pd / 4, pd / 4 + planes * Hq * Wq + 16);
  padPlanes(planes, ps, H, W, pad, pd, Hq, Wq);
  const got = f32().slice(pd / 4, pd / 4 + planes * Hq * Wq + 16);
  // nothing written past the last plane
  expect(got.subarray(planes * Hq * Wq).every(Number.isNaN)).toBe(true);
  return got.subarray(0, planes * Hq * Wq);
};

afterEach(() => {
  setThreads(1);
});

describe('padPlanes', () => {
  it('writes the image at (pad, pad) and zeros in every other float of each plane, over a destination full of NaN, on generated sizes', () => {
    const padCase = fc.record({
      planes: fc.integer({ min: 1, max: 7 }),
      H: fc.integer({ min: 1, max: 9 }),
      W: fc.integer({ min: 1, max: 13 }),
      pad: fc.integer({ min: 0, max: 3 }),
      // margins past the image's far edges: the same as pad (padImages) or wider (Winograd's whole tiles)
      farH: fc.integer({ min: 0, max: 6 }),
      farW: fc.integer({ min: 0, max: 9 }),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(padCase, ({ planes, H, W, pad, farH, farW, seed }) => {
        const [Hq, Wq] = [H + pad + farH, W + pad + farW];
        const src = Float32Array.from({ length: planes * H * W }, (_, i) => ((i * 7919 + seed) % 101) - 50.5);
        expect(Array.from(run(src, planes, H, W, pad, Hq, Wq))).toEqual(Array.from(expected(src, planes, H, W, pad, Hq, Wq)));
      }),
      { seed: 51, numRuns: 120 },
    );
  });

  it('split across 2 threads by planes (a batch of 16-channel 28x28 images): a worker takes planes, the same floats', () => {
    const [planes, H, W, pad] = [600, 28, 28, 1];
    const [Hq, Wq] = [H + 2 * pad, W + 2 * pad + 4];
    const src = Float32Array.from({ length: planes * H * W }, (_, i) => (i % 977) - 488);
    const want = Array.from(expected(src, planes, H, W, pad, Hq, Wq));
    untilAWorkerTakesPart(() => expect(Array.from(run(src, planes, H, W, pad, Hq, Wq))).toEqual(want));
  });
});
