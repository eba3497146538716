import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import {
  arange,
  col2im,
  dot,
  fromData,
  full,
  im2col,
  kernels,
  referenceKernels,
  type ConvGeometry,
  type Kernels,
  type Shape,
  type Tensor,
} from '@foldnet/core';
import { closeScalar, closeTo, convGeometryArb, tensorArb, type ConvCase } from '@foldnet/core/testing';

/*
 * im2col/col2im for NCHW input with any stride and pad: checked against an independent
 * definition (a zero-padded image read window by window), and col2im against im2col through the
 * adjoint identity <im2col(x), y> = <x, col2im(y)>.
 */

const fcOptions = { seed: 42, numRuns: 150 };

// The ranges: N, C in 1..4, H, W in 1..9, filter 1..5, stride 1..3, pad 0..2, non-square too.
const cases = convGeometryArb({ maxBatch: 4, maxChannels: 4, maxInput: 9, maxFilter: 5, maxStride: 3, maxPad: 2 });

const colShape = ({ xShape: [N, C], geometry: g }: ConvCase): Shape => [N * g.outH * g.outW, C * g.filterH * g.filterW];

// An input x and a column matrix y for the same case, float64.
const caseWithData = cases.chain((c) =>
  fc.tuple(fc.constant(c), tensorArb(c.xShape, { dtype: 'float64' }), tensorArb(colShape(c), { dtype: 'float64' })),
);

// Independent definition: pad the image with zeros first, then copy each window; no bounds tests in the copy.
const naiveIm2col = (x: Tensor, g: ConvGeometry): number[][] => {
  const [N, C, H, W] = x.shape;
  const PH = H + 2 * g.pad;
  const PW = W + 2 * g.pad;
  const padded = (n: number, c: number, py: number, px: number): number => {
    const y = py - g.pad;
    const xx = px - g.pad;
    return y >= 0 && y < H && xx >= 0 && xx < W ? x.data[((n * C + c) * H + y) * W + xx] : 0;
  };
  expect(PH).toBeGreaterThanOrEqual(g.filterH);
  expect(PW).toBeGreaterThanOrEqual(g.filterW);
  const rows: number[][] = [];
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++) {
        const row: number[] = [];
        for (let c = 0; c < C; c++)
          for (let fy = 0; fy < g.filterH; fy++)
            for (let fx = 0; fx < g.filterW; fx++) row.push(padded(n, c, oy * g.stride + fy, ox * g.stride + fx));
        rows.push(row);
      }
  return rows;
};

// How many windows cover input row iy (or column): pairs (o, f) with o*stride - pad + f = iy.
const coverage = (i: number, out: number, filter: number, stride: number, pad: number): number => {
  let count = 0;
  for (let o = 0; o < out; o++) {
    const f = i + pad - o * stride;
    if (f >= 0 && f < filter) count++;
  }
  return count;
};

const backends: ReadonlyArray<readonly [string, () => Kernels]> = [
  ['reference', () => referenceKernels],
  ['current backend', () => kernels()],
];

describe('im2col', () => {
  it('im2col x=[1,1,3,3] filter=2x2 stride=1 pad=0 lays rows (n,oy,ox) and columns (c,fy,fx)', () => {
    const col = im2col(arange([1, 1, 3, 3], 'float64'), { filterH: 2 });
    expect(col.shape).toEqual([4, 4]);
    expect(Array.from(col.data)).toEqual([0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8]);
  });

  it('im2col x=[1,2,2,3] filter=1x2 stride=1 pad=1 (non-square, padded) reads zeros outside the image', () => {
    const x = arange([1, 2, 2, 3], 'float64');
    const col = im2col(x, { filterH: 1, filterW: 2, pad: 1 });
    // outH = 2 + 2 - 1 + 1 = 4, outW = 3 + 2 - 2 + 1 = 4
    expect(col.shape).toEqual([16, 4]);
    const g = { inH: 2, inW: 3, filterH: 1, filterW: 2, stride: 1, pad: 1, outH: 4, outW: 4 };
    expect(Array.from(col.data)).toEqual(naiveIm2col(x, g).flat());
  });

  it('im2col x=[2,3,7,7] filter=3x3 stride=2 pad=1 has shape [2*4*4, 3*3*3]', () => {
    expect(im2col(arange([2, 3, 7, 7]), { filterH: 3, stride: 2, pad: 1 }).shape).toEqual([32, 27]);
  });

  for (const [name, k] of backends) {
    it(`im2col (${name}) equals the padded-window definition on generated geometries`, () => {
      fc.assert(
        fc.property(caseWithData, ([c, x]) => {
          const col = im2col(x, c.params, k());
          expect(col.shape).toEqual(colShape(c));
          expect(Array.from(col.data)).toEqual(naiveIm2col(x, c.geometry).flat());
        }),
        fcOptions,
      );
    });
  }
});

describe('col2im is the adjoint of im2col', () => {
  for (const [name, k] of backends) {
    it(`<im2col(x), y> = <x, col2im(y)> in float64 to 1e-10 (${name})`, () => {
      fc.assert(
        fc.property(caseWithData, ([c, x, y]) => {
          const lhs = dot(im2col(x, c.params, k()), y);
          const rhs = dot(x, col2im(y, c.xShape, c.params, k()));
          return closeScalar(lhs, rhs, { rtol: 1e-10, atol: 1e-12 });
        }),
        fcOptions,
      );
    });

    it(`col2im(im2col(x)) = x times each pixel's window count (${name})`, () => {
      fc.assert(
        fc.property(caseWithData, ([c, x]) => {
          const [N, C, H, W] = c.xShape;
          const g = c.geometry;
          const back = col2im(im2col(x, c.params, k()), c.xShape, c.params, k());
          const expected = new Float64Array(x.size);
          for (let n = 0; n < N; n++)
            for (let ch = 0; ch < C; ch++)
              for (let iy = 0; iy < H; iy++)
                for (let ix = 0; ix < W; ix++) {
                  const i = ((n * C + ch) * H + iy) * W + ix;
                  const count =
                    coverage(iy, g.outH, g.filterH, g.stride, g.pad) * coverage(ix, g.outW, g.filterW, g.stride, g.pad);
                  expected[i] = x.data[i] * count;
                }
          const r = closeTo(back, fromData(c.xShape, expected), { rtol: 1e-12, atol: 0 });
          expect(r.ok, r.message).toBe(true);
        }),
        fcOptions,
      );
    });
  }

  it('col2im x=[1,1,3,3] filter=2x2 stride=1 of ones counts the windows over each pixel', () => {
    const counts = col2im(full([4, 4], 1, 'float64'), [1, 1, 3, 3], { filterH: 2 });
    expect(Array.from(counts.data)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
  });

  it('col2im x=[1,1,5,5] filter=2x2 stride=3 (gaps between windows) leaves unread pixels at 0', () => {
    const x = arange([1, 1, 5, 5], 'float64');
    const back = col2im(im2col(x, { filterH: 2, stride: 3 }), [1, 1, 5, 5], { filterH: 2, stride: 3 });
    // windows start at rows/cols 0 and 3: rows/cols 2 are never read
    expect(Array.from(back.data)).toEqual(Array.from(x.data, (v, i) => (Math.floor(i / 5) === 2 || i % 5 === 2 ? 0 : v)));
  });
});
