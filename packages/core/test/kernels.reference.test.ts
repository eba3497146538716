import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import {
  convGeometry,
  dot,
  fromData,
  fromNested,
  referenceKernels as ref,
  split,
  sum,
  tensor,
  toArray,
  uniform,
  zip,
  type ConvGeometry,
  type DType,
  type Tensor,
} from '@foldnet/core';
import { closeScalar, closeTo, convGeometryArb, keyArb, tensorArb, type ConvCase } from '@foldnet/core/testing';

/*
 * The reference kernels are the oracle for every other backend, so they are checked here against
 * definitions written straight from the maths: a direct 7-loop convolution, window scans for the
 * pooling, and the backward passes against the adjoint identity and central finite differences
 * in float64.
 */

const fcOptions = { seed: 42, numRuns: 60 };

// ---------------------------------------------------------------------------------------------
// Definitions

// x[n, c, iy, ix] with zero padding outside the image.
const at = (x: Tensor, n: number, c: number, iy: number, ix: number, outside: number): number => {
  const [, C, H, W] = x.shape;
  return iy >= 0 && iy < H && ix >= 0 && ix < W ? x.data[((n * C + c) * H + iy) * W + ix] : outside;
};

// out[n, f, oy, ox] = b[f] + sum_{c, fy, fx} w[f, c, fy, fx] * x[n, c, oy*s - p + fy, ox*s - p + fx]
const directConv2d = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor => {
  const [N, C] = x.shape;
  const FN = w.shape[0];
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let f = 0; f < FN; f++)
      for (let oy = 0; oy < g.outH; oy++)
        for (let ox = 0; ox < g.outW; ox++) {
          let s = b.data[f];
          for (let c = 0; c < C; c++)
            for (let fy = 0; fy < g.filterH; fy++)
              for (let fx = 0; fx < g.filterW; fx++)
                s +=
                  w.data[((f * C + c) * g.filterH + fy) * g.filterW + fx] *
                  at(x, n, c, oy * g.stride - g.pad + fy, ox * g.stride - g.pad + fx, 0);
          out.push(s);
        }
  return tensor(out, [N, FN, g.outH, g.outW], x.dtype);
};

// Every window's real pixels (padding excluded), in scan order (fy, fx), with their flat indices.
const windows = (xShape: readonly number[], g: ConvGeometry): Array<Array<{ readonly i: number }>> => {
  const [N, C, H, W] = xShape;
  const all: Array<Array<{ readonly i: number }>> = [];
  for (let nc = 0; nc < N * C; nc++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++) {
        const win: Array<{ readonly i: number }> = [];
        for (let fy = 0; fy < g.filterH; fy++)
          for (let fx = 0; fx < g.filterW; fx++) {
            const iy = oy * g.stride - g.pad + fy;
            const ix = ox * g.stride - g.pad + fx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) win.push({ i: (nc * H + iy) * W + ix });
          }
        all.push(win);
      }
  return all;
};

// ---------------------------------------------------------------------------------------------
// Generated cases

interface ConvData {
  readonly c: ConvCase;
  readonly x: Tensor;
  readonly w: Tensor;
  readonly b: Tensor;
  readonly dy: Tensor;
}

const convData = (dtype: DType, opts: Parameters<typeof convGeometryArb>[0] = {}) =>
  fc.tuple(convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 8, ...opts }), fc.integer({ min: 1, max: 4 })).chain(
    ([c, FN]): fc.Arbitrary<ConvData> => {
      const [N, C] = c.xShape;
      const g = c.geometry;
      return fc.record({
        c: fc.constant(c),
        x: tensorArb(c.xShape, { dtype }),
        w: tensorArb([FN, C, g.filterH, g.filterW], { dtype }),
        b: tensorArb([FN], { dtype }),
        dy: tensorArb([N, FN, g.outH, g.outW], { dtype }),
      });
    },
  );

const zerosLike = (t: Tensor): Tensor => fromData(t.shape, t.dtype === 'float64' ? new Float64Array(t.size) : new Float32Array(t.size));

// ---------------------------------------------------------------------------------------------

describe('reference conv2d', () => {
  it('conv2d x=[1,1,3,3] w=[1,1,2,2] b=[10]: each output is the window sum plus 10', () => {
    const x = fromNested([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]], 'float64');
    const w = fromNested([[[[1, 1], [1, 1]]]], 'float64');
    const { out, col } = ref.conv2d(x, w, tensor([10], [1], 'float64'), convGeometry('conv2d', { inH: 3, inW: 3, filterH: 2 }));
    expect(out.shape).toEqual([1, 1, 2, 2]);
    expect(toArray(out)).toEqual([22, 26, 34, 38]);
    expect(col.shape).toEqual([4, 4]);
  });

  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
    it(`conv2d equals the direct 7-loop convolution on generated shapes (${dtype}), and returns im2col(x)`, () => {
      fc.assert(
        fc.property(convData(dtype), ({ c, x, w, b }) => {
          const { out, col } = ref.conv2d(x, w, b, c.geometry);
          expect(out.dtype).toBe(dtype);
          const r = closeTo(out, directConv2d(x, w, b, c.geometry), tol);
          expect(r.ok, r.message).toBe(true);
          expect(toArray(col)).toEqual(toArray(ref.im2col(x, c.geometry)));
        }),
        fcOptions,
      );
    });
  }
});

describe('reference conv2dBackward (float64)', () => {
  it('dx and dw satisfy the adjoint identities <conv(x,w,0), dy> = <x, dx> = <w, dw>; db sums dy over N, OH, OW', () => {
    fc.assert(
      fc.property(convData('float64'), ({ c, x, w, b, dy }) => {
        const { out, col } = ref.conv2d(x, w, zerosLike(b), c.geometry);
        const grads = ref.conv2dBackward(dy, col, w, c.xShape, c.geometry, true);
        const lhs = dot(out, dy);
        expect(grads.dx?.shape).toEqual(x.shape);
        expect(grads.dw.shape).toEqual(w.shape);
        expect(grads.db!.shape).toEqual(b.shape);
        if (grads.dx === undefined) throw new Error('dx was asked for');
        expect(closeScalar(lhs, dot(x, grads.dx), { rtol: 1e-10, atol: 1e-12 })).toBe(true);
        expect(closeScalar(lhs, dot(w, grads.dw), { rtol: 1e-10, atol: 1e-12 })).toBe(true);
        const r = closeTo(grads.db!, sum(dy, [0, 2, 3]), { rtol: 1e-12, atol: 1e-12 });
        expect(r.ok, r.message).toBe(true);
      }),
      fcOptions,
    );
  });

  it('needDx=false skips dx and gives the same dw and db', () => {
    fc.assert(
      fc.property(convData('float64'), ({ c, x, w, b, dy }) => {
        const { col } = ref.conv2d(x, w, b, c.geometry);
        const all = ref.conv2dBackward(dy, col, w, c.xShape, c.geometry, true);
        const some = ref.conv2dBackward(dy, col, w, c.xShape, c.geometry, false);
        expect(some.dx).toBeUndefined();
        expect(toArray(some.dw)).toEqual(toArray(all.dw));
        expect(toArray(some.db!)).toEqual(toArray(all.db!));
      }),
      { ...fcOptions, numRuns: 20 },
    );
  });

  it('conv2d x=[2,2,5,4] w=[3,2,3,2] stride=2 pad=1: every element of dx, dw, db matches central finite differences', () => {
    const [kx, kw, kb, kdy] = split(fc.sample(keyArb, { seed: 5, numRuns: 1 })[0], 4);
    const g = convGeometry('conv2d', { inH: 5, inW: 4, filterH: 3, filterW: 2, stride: 2, pad: 1 });
    const x = uniform(kx, [2, 2, 5, 4], { low: -1, high: 1, dtype: 'float64' });
    const w = uniform(kw, [3, 2, 3, 2], { low: -1, high: 1, dtype: 'float64' });
    const b = uniform(kb, [3], { low: -1, high: 1, dtype: 'float64' });
    const dy = uniform(kdy, [2, 3, g.outH, g.outW], { low: -1, high: 1, dtype: 'float64' });
    // L(x, w, b) = <conv2d(x, w, b), dy>, so dL/dx = dx and so on.
    const loss = (xx: Tensor, ww: Tensor, bb: Tensor): number => dot(ref.conv2d(xx, ww, bb, g).out, dy);
    const { col } = ref.conv2d(x, w, b, g);
    const grads = ref.conv2dBackward(dy, col, w, x.shape, g, true);
    const eps = 1e-6;
    const bump = (t: Tensor, i: number, d: number): Tensor => {
      const data = new Float64Array(t.data);
      data[i] += d;
      return fromData(t.shape, data);
    };
    const check = (name: string, t: Tensor, grad: Tensor | undefined, lossAt: (t2: Tensor) => number): void => {
      if (grad === undefined) throw new Error(`${name}: no gradient`);
      for (let i = 0; i < t.size; i++) {
        const numeric = (lossAt(bump(t, i, eps)) - lossAt(bump(t, i, -eps))) / (2 * eps);
        expect(Math.abs(numeric - grad.data[i]), `${name}[${i}]`).toBeLessThan(1e-7);
      }
    };
    check('dx', x, grads.dx, (xx) => loss(xx, w, b));
    check('dw', w, grads.dw, (ww) => loss(x, ww, b));
    check('db', b, grads.db, (bb) => loss(x, w, bb));
  });
});

describe('reference maxPool2d', () => {
  // few distinct values: ties in nearly every window
  const poolData = convGeometryArb({ maxBatch: 2, maxChannels: 3, maxInput: 8, maxFilter: 4 }).chain((c) =>
    fc.tuple(fc.constant(c), tensorArb(c.xShape, { dtype: 'float64', integer: true, min: -2, max: 2 })),
  );

  it('maxPool2d is the window maximum, argmax the first maximum in scan order; windows entirely in padding give -Infinity and -1', () => {
    fc.assert(
      fc.property(poolData, ([c, x]) => {
        const { out, argmax } = ref.maxPool2d(x, c.geometry);
        const [N, C] = c.xShape;
        expect(out.shape).toEqual([N, C, c.geometry.outH, c.geometry.outW]);
        windows(c.xShape, c.geometry).forEach((win, o) => {
          const best = Math.max(-Infinity, ...win.map(({ i }) => x.data[i]));
          expect(out.data[o]).toBe(best);
          expect(argmax[o]).toBe(win.length === 0 ? -1 : win.find(({ i }) => x.data[i] === best)?.i);
        });
      }),
      { ...fcOptions, numRuns: 150 },
    );
  });

  it('maxPool2d x=[1,1,2,2] all equal, window 2: argmax is the first pixel (ties -> first maximum)', () => {
    const { out, argmax } = ref.maxPool2d(fromNested([[[[3, 3], [3, 3]]]]), convGeometry('maxPool2d', { inH: 2, inW: 2, filterH: 2, stride: 2 }));
    expect(toArray(out)).toEqual([3]);
    expect(Array.from(argmax)).toEqual([0]);
  });

  it('maxPool2d x=[1,1,2,2] of negatives, window 2 pad 1 stride 1: padding is -Infinity, not 0', () => {
    const x = fromNested([[[[-5, -2], [-3, -4]]]]);
    const { out } = ref.maxPool2d(x, convGeometry('maxPool2d', { inH: 2, inW: 2, filterH: 2, pad: 1 }));
    expect(toArray(out)).toEqual([-5, -2, -2, -3, -2, -2, -3, -3, -4]);
  });

  it('maxPool2d x=[1,1,1,1] window 1 pad 1: windows over padding only give -Infinity with argmax -1, and get no gradient', () => {
    const x = fromNested([[[[7]]]], 'float64');
    const g = convGeometry('maxPool2d', { inH: 1, inW: 1, filterH: 1, pad: 1 });
    const { out, argmax } = ref.maxPool2d(x, g);
    expect(toArray(out)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity, 7, -Infinity, -Infinity, -Infinity, -Infinity]);
    expect(Array.from(argmax)).toEqual([-1, -1, -1, -1, 0, -1, -1, -1, -1]);
    const dx = ref.maxPool2dBackward(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], 'float64'), argmax, x.shape);
    expect(toArray(dx)).toEqual([5]);
  });

  it('maxPool2d x=[1,1,2,3] window 2x3: a NaN anywhere in the window wins, the first NaN is the argmax', () => {
    const g = convGeometry('maxPool2d', { inH: 2, inW: 3, filterH: 2, filterW: 3 });
    for (const [values, expectedAt] of [
      [[1, NaN, 3, 4, NaN, 0], 1],
      [[NaN, 1, 2, 3, 4, 5], 0],
      [[1, 2, 3, 4, 5, NaN], 5],
    ] as const) {
      const { out, argmax } = ref.maxPool2d(tensor(values, [1, 1, 2, 3], 'float64'), g);
      expect(out.data[0]).toBeNaN();
      expect(argmax[0]).toBe(expectedAt);
    }
  });

  it('maxPool2dBackward routes each dy to its argmax and sums overlaps: dx[i] = sum of dy[o] over o with argmax[o] = i', () => {
    fc.assert(
      fc.property(
        poolData.chain(([c, x]) =>
          fc.tuple(fc.constant(c), fc.constant(x), tensorArb([c.xShape[0], c.xShape[1], c.geometry.outH, c.geometry.outW], { dtype: 'float64' })),
        ),
        ([c, x, dy]) => {
          const { argmax } = ref.maxPool2d(x, c.geometry);
          const dx = ref.maxPool2dBackward(dy, argmax, c.xShape);
          const expected = new Float64Array(x.size);
          argmax.forEach((i, o) => {
            if (i >= 0) expected[i] += dy.data[o];
          });
          const r = closeTo(dx, fromData(c.xShape, expected), { rtol: 0, atol: 0 });
          expect(r.ok, r.message).toBe(true);
        },
      ),
      fcOptions,
    );
  });

  it('maxPool2dBackward matches central finite differences in a random direction (distinct values, every window has a pixel)', () => {
    const cases = convGeometryArb({ maxBatch: 2, maxChannels: 2, maxInput: 7, maxFilter: 3 })
      .filter(({ params }) => params.pad < params.filterH && params.pad < params.filterW)
      .chain((c) => fc.tuple(fc.constant(c), keyArb));
    fc.assert(
      fc.property(cases, ([c, k]) => {
        const [kx, kv, kdy] = split(k, 3);
        const x = uniform(kx, c.xShape, { low: -1, high: 1, dtype: 'float64' });
        const v = uniform(kv, c.xShape, { low: -1, high: 1, dtype: 'float64' });
        const [N, C] = c.xShape;
        const dy = uniform(kdy, [N, C, c.geometry.outH, c.geometry.outW], { low: -1, high: 1, dtype: 'float64' });
        const loss = (t: Tensor) => dot(ref.maxPool2d(t, c.geometry).out, dy);
        const dx = ref.maxPool2dBackward(dy, ref.maxPool2d(x, c.geometry).argmax, c.xShape);
        const eps = 1e-7; // far below the gap between distinct uniform doubles in a window: the argmax does not move
        const numeric = (loss(zip(x, v, (p, q) => p + eps * q)) - loss(zip(x, v, (p, q) => p - eps * q))) / (2 * eps);
        expect(Math.abs(numeric - dot(dx, v))).toBeLessThan(1e-6);
      }),
      fcOptions,
    );
  });
});

describe('reference avgPool2d', () => {
  const avgData = (dtype: DType) =>
    convGeometryArb({ maxBatch: 2, maxChannels: 3, maxInput: 8, maxFilter: 4 }).chain((c) =>
      fc.tuple(fc.constant(c), tensorArb(c.xShape, { dtype }), tensorArb([c.xShape[0], c.xShape[1], c.geometry.outH, c.geometry.outW], { dtype })),
    );

  it('avgPool2d is the sum of the window real pixels over filterH*filterW (padding counts as 0)', () => {
    fc.assert(
      fc.property(avgData('float64'), ([c, x]) => {
        const out = ref.avgPool2d(x, c.geometry);
        const expected = windows(c.xShape, c.geometry).map((win) => win.reduce((s, { i }) => s + x.data[i], 0) / (c.geometry.filterH * c.geometry.filterW));
        const r = closeTo(out, tensor(expected, out.shape, 'float64'), { rtol: 1e-12, atol: 1e-15 });
        expect(r.ok, r.message).toBe(true);
      }),
      fcOptions,
    );
  });

  it('avgPool2dBackward is the adjoint of avgPool2d: <avgPool(x), dy> = <x, avgPool2dBackward(dy)> to 1e-10', () => {
    fc.assert(
      fc.property(avgData('float64'), ([c, x, dy]) =>
        closeScalar(dot(ref.avgPool2d(x, c.geometry), dy), dot(x, ref.avgPool2dBackward(dy, c.xShape, c.geometry)), { rtol: 1e-10, atol: 1e-12 }),
      ),
      fcOptions,
    );
  });

  it('avgPool2d x=[1,1,2,2] window 2 pad 1: corners see one pixel out of four', () => {
    const out = ref.avgPool2d(fromNested([[[[4, 8], [12, 16]]]]), convGeometry('avgPool2d', { inH: 2, inW: 2, filterH: 2, pad: 1 }));
    expect(toArray(out)).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4]);
  });
});

describe('reference matmul, im2col and col2im keep the dtype', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype} in, ${dtype} out`, () => {
      const g = convGeometry('im2col', { inH: 3, inW: 3, filterH: 2 });
      const x = tensor(new Array(9).fill(1), [1, 1, 3, 3], dtype);
      const col = ref.im2col(x, g);
      expect(col.dtype).toBe(dtype);
      expect(ref.col2im(col, x.shape, g).dtype).toBe(dtype);
      expect(ref.matmul(col, col, true, false).dtype).toBe(dtype);
    });
  }
});
