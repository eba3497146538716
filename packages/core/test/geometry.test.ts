import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { convGeometry, FoldnetError, type ConvGeometryParams } from '@foldnet/core';
import { convGeometryArb } from '@foldnet/core/testing';

// Runs f and returns the FoldnetError it throws (failing the test when it does not throw one).
const thrown = (f: () => unknown): FoldnetError => {
  try {
    f();
  } catch (e) {
    if (e instanceof FoldnetError) return e;
    throw e;
  }
  throw new Error('expected a FoldnetError, nothing was thrown');
};

describe('convGeometry: output size', () => {
  const table: ReadonlyArray<readonly [string, ConvGeometryParams, number, number]> = [
    ['the lesson conv: 28x28 filter 5 stride 1 pad 0', { inH: 28, inW: 28, filterH: 5 }, 24, 24],
    ['the lesson pool: 24x24 window 2 stride 2', { inH: 24, inW: 24, filterH: 2, stride: 2 }, 12, 12],
    ['same padding: 28x28 filter 3 pad 1', { inH: 28, inW: 28, filterH: 3, pad: 1 }, 28, 28],
    ['7x7 filter 3 stride 2 pad 1', { inH: 7, inW: 7, filterH: 3, stride: 2, pad: 1 }, 4, 4],
    ['floor division: 8x8 filter 3 stride 2 (one column left over)', { inH: 8, inW: 8, filterH: 3, stride: 2 }, 3, 3],
    ['non-square input and filter: 4x9 filter 2x5', { inH: 4, inW: 9, filterH: 2, filterW: 5 }, 3, 5],
    ['filter equal to the padded input: 3x3 filter 5 pad 1', { inH: 3, inW: 3, filterH: 5, pad: 1 }, 1, 1],
    ['1x1 image, 1x1 filter, pad 2 (windows entirely in padding)', { inH: 1, inW: 1, filterH: 1, pad: 2 }, 5, 5],
  ];
  for (const [name, p, outH, outW] of table) {
    it(`${name} -> ${outH}x${outW}`, () => {
      const g = convGeometry('conv2d', p);
      expect([g.outH, g.outW]).toEqual([outH, outW]);
    });
  }

  it('defaults: filterW = filterH, stride 1, pad 0', () => {
    const g = convGeometry('conv2d', { inH: 6, inW: 5, filterH: 3 });
    expect(g).toEqual({ inH: 6, inW: 5, filterH: 3, filterW: 3, stride: 1, pad: 0, outH: 4, outW: 3 });
    expect(Object.isFrozen(g)).toBe(true);
  });

  it('on generated geometries the last window ends inside the padded input and one more stride would not', () => {
    fc.assert(
      fc.property(convGeometryArb({ maxInput: 30, maxFilter: 7, maxStride: 4, maxPad: 3 }), ({ geometry: g }) => {
        const lastEndH = (g.outH - 1) * g.stride + g.filterH;
        const lastEndW = (g.outW - 1) * g.stride + g.filterW;
        expect(lastEndH).toBeLessThanOrEqual(g.inH + 2 * g.pad);
        expect(lastEndW).toBeLessThanOrEqual(g.inW + 2 * g.pad);
        expect(lastEndH + g.stride).toBeGreaterThan(g.inH + 2 * g.pad);
        expect(lastEndW + g.stride).toBeGreaterThan(g.inW + 2 * g.pad);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('convGeometry: impossible geometry is a geometry error naming the operation', () => {
  const bad: ReadonlyArray<readonly [string, ConvGeometryParams, RegExp]> = [
    ['filter 5x5 larger than a 3x3 input', { inH: 3, inW: 3, filterH: 5 }, /^conv2d: filter 5x5 is larger than the padded input 3x3 \(input 3x3, pad 0\)$/],
    ['filter 6 larger than a 3x3 input padded by 1', { inH: 3, inW: 3, filterH: 6, pad: 1 }, /^conv2d: filter 6x6 is larger than the padded input 5x5/],
    ['filter width 4 larger than a 5x2 input (height fits)', { inH: 5, inW: 2, filterH: 2, filterW: 4 }, /filter 2x4 is larger than the padded input 5x2/],
    ['stride 0', { inH: 5, inW: 5, filterH: 3, stride: 0 }, /^conv2d: stride must be a positive integer, got 0$/],
    ['negative stride', { inH: 5, inW: 5, filterH: 3, stride: -1 }, /stride must be a positive integer, got -1/],
    ['non-integer stride 1.5', { inH: 5, inW: 5, filterH: 3, stride: 1.5 }, /stride must be a positive integer, got 1.5/],
    ['non-integer input height 4.5', { inH: 4.5, inW: 5, filterH: 3 }, /input height must be a positive integer, got 4.5/],
    ['input width 0', { inH: 4, inW: 0, filterH: 3 }, /input width must be a positive integer, got 0/],
    ['filter height 0', { inH: 4, inW: 4, filterH: 0 }, /filter height must be a positive integer, got 0/],
    ['non-integer filter width 2.5', { inH: 4, inW: 4, filterH: 2, filterW: 2.5 }, /filter width must be a positive integer, got 2.5/],
    ['NaN filter', { inH: 4, inW: 4, filterH: NaN }, /filter height must be a positive integer, got NaN/],
    ['negative pad', { inH: 4, inW: 4, filterH: 3, pad: -1 }, /^conv2d: pad must be a non-negative integer, got -1$/],
    ['non-integer pad 0.5', { inH: 4, inW: 4, filterH: 3, pad: 0.5 }, /pad must be a non-negative integer, got 0.5/],
  ];
  for (const [name, p, message] of bad) {
    it(name, () => {
      const e = thrown(() => convGeometry('conv2d', p));
      expect(e.code).toBe('geometry');
      expect(e.message).toMatch(message);
    });
  }

  it('the error names whichever operation asked (maxPool2d)', () => {
    expect(thrown(() => convGeometry('maxPool2d', { inH: 1, inW: 1, filterH: 2 })).message).toMatch(/^maxPool2d: /);
  });
});
