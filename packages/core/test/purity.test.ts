import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import {
  add,
  addBias,
  allFinite,
  argmax,
  backendNames,
  cast,
  convGeometry,
  col2im,
  copyData,
  dot,
  im2col,
  kernels,
  map,
  matmul,
  max,
  maxAbsDiff,
  mul,
  normal,
  permute,
  reshape,
  scale,
  sliceRows,
  split,
  key,
  sub,
  sum,
  take,
  toArray,
  toNested,
  transpose,
  zip,
  type DType,
  type Kernels,
  type Key,
  type Tensor,
} from '@foldnet/core';
import { convGeometryArb, sameBytes, shapeArb, snapshotBytes, tensorArb, type ConvCase } from '@foldnet/core/testing';

/*
 * "Local mutation, global purity": every operation leaves its inputs bitwise unchanged, on every
 * registered backend, and a result is never changed by later calls (no kernel hands out a view
 * of a scratch buffer it reuses).
 */

const fcOptions = { seed: 42, numRuns: 25 };

// Runs `run` and checks that every input's bytes (and every Int32Array's values) are unchanged.
const untouched = (name: string, inputs: ReadonlyArray<Tensor | Int32Array>, run: () => unknown): void => {
  const bytesOf = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const before = inputs.map((t) => (t instanceof Int32Array ? bytesOf(t).slice() : snapshotBytes(t)));
  run();
  inputs.forEach((t, i) => {
    const same = t instanceof Int32Array ? bytesOf(t).every((v, j) => v === before[i][j]) : sameBytes(before[i], t);
    expect(same, `${name} wrote input ${i}`).toBe(true);
  });
};

describe('tensor operations leave their inputs unchanged', () => {
  const cases = fc
    .tuple(shapeArb({ minRank: 2, maxRank: 4, maxDim: 4 }), fc.constantFrom<DType>('float32', 'float64'))
    .chain(([shape, dtype]) =>
      fc.record({
        a: tensorArb(shape, { dtype }),
        b: tensorArb(shape, { dtype }),
        bias: tensorArb([shape[shape.length - 1]], { dtype }),
      }),
    );

  it('reshape, cast, permute, transpose, sum, max, argmax, map, zip, add, sub, mul, scale, dot, maxAbsDiff, take, sliceRows, addBias, allFinite, toNested, toArray, copyData', () => {
    fc.assert(
      fc.property(cases, ({ a, b, bias }) => {
        const rank = a.shape.length;
        const reversed = a.shape.map((_, i) => rank - 1 - i);
        const ops: ReadonlyArray<readonly [string, ReadonlyArray<Tensor>, () => unknown]> = [
          ['reshape', [a], () => reshape(a, [-1])],
          ['cast', [a], () => cast(a, a.dtype === 'float32' ? 'float64' : 'float32')],
          ['permute', [a], () => permute(a, reversed)],
          ['transpose', [a], () => transpose(reshape(a, [a.shape[0], -1]))],
          ['sum', [a], () => sum(a, [0, rank - 1])],
          ['sum all', [a], () => sum(a)],
          ['max', [a], () => max(a, 1, true)],
          ['argmax', [a], () => argmax(a, -1)],
          ['map', [a], () => map(a, (v) => v * 2)],
          ['zip', [a, b], () => zip(a, b, (p, q) => p - q)],
          ['add', [a, b], () => add(a, b)],
          ['sub', [a, b], () => sub(a, b)],
          ['mul', [a, b], () => mul(a, b)],
          ['scale', [a], () => scale(a, -3)],
          ['dot', [a, b], () => dot(a, b)],
          ['maxAbsDiff', [a, b], () => maxAbsDiff(a, b)],
          ['take', [a], () => take(a, [a.shape[0] - 1, 0, 0])],
          ['sliceRows', [a], () => sliceRows(a, 0, 1)],
          ['addBias', [a, bias], () => addBias(a, bias)],
          ['allFinite', [a], () => allFinite(a)],
          ['toNested', [a], () => toNested(a)],
          ['toArray', [a], () => toArray(a)],
          ['copyData', [a], () => copyData(a).fill(7)],
        ];
        for (const [name, inputs, run] of ops) untouched(name, inputs, run);
      }),
      fcOptions,
    );
  });
});

interface KernelCase {
  readonly c: ConvCase;
  readonly x: Tensor;
  readonly w: Tensor;
  readonly b: Tensor;
  readonly dy: Tensor;
  readonly pooledDy: Tensor;
}

const kernelCases = fc
  .tuple(convGeometryArb({ maxBatch: 2, maxChannels: 3, maxInput: 7, maxFilter: 3 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom<DType>('float32', 'float64'))
  .chain(([c, FN, dtype]): fc.Arbitrary<KernelCase> => {
    const [N, C] = c.xShape;
    const { outH, outW, filterH, filterW } = c.geometry;
    return fc.record({
      c: fc.constant(c),
      x: tensorArb(c.xShape, { dtype }),
      w: tensorArb([FN, C, filterH, filterW], { dtype }),
      b: tensorArb([FN], { dtype }),
      dy: tensorArb([N, FN, outH, outW], { dtype }),
      pooledDy: tensorArb([N, C, outH, outW], { dtype }),
    });
  });

// Every kernel of a set run once on one case; returns each result so callers can watch them.
const runAll = (k: Kernels, { c, x, w, b, dy, pooledDy }: KernelCase, check: typeof untouched): Tensor[] => {
  const g = c.geometry;
  const results: Tensor[] = [];
  const keep = <T extends Tensor | undefined>(t: T): T => {
    if (t !== undefined) results.push(t);
    return t;
  };
  const m = reshape(x, [x.shape[0], -1]);
  const mt = transpose(m);
  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    // m: [N, D], mt: [D, N]; pick the second operand so that the inner sizes agree
    const other = transA === transB ? mt : m;
    check(`matmul transA=${transA} transB=${transB}`, [m, other], () => keep(matmul(m, other, { transA, transB, kernels: k })));
  }
  check('im2col', [x], () => keep(im2col(x, c.params, k)));
  const col = im2col(x, c.params, k);
  check('col2im', [col], () => keep(col2im(col, c.xShape, c.params, k)));
  let conv: ReturnType<Kernels['conv2d']> | undefined;
  check('conv2d', [x, w, b], () => {
    conv = k.conv2d(x, w, b, g);
    keep(conv.out);
    keep(conv.col);
  });
  if (conv === undefined) throw new Error('conv2d did not run');
  const convCol = conv.col;
  check('conv2dBackward', [dy, convCol, w], () => {
    const grads = k.conv2dBackward(dy, convCol, w, c.xShape, g, true);
    keep(grads.dx);
    keep(grads.dw);
    keep(grads.db);
  });
  const pooled = k.maxPool2d(x, g);
  check('maxPool2d', [x], () => keep(k.maxPool2d(x, g).out));
  check('maxPool2dBackward', [pooledDy, pooled.argmax], () => keep(k.maxPool2dBackward(pooledDy, pooled.argmax, c.xShape)));
  check('avgPool2d', [x], () => keep(k.avgPool2d(x, g)));
  check('avgPool2dBackward', [pooledDy], () => keep(k.avgPool2dBackward(pooledDy, c.xShape, g)));
  return results;
};

describe('kernels leave their inputs unchanged, and their results stay unchanged', () => {
  for (const name of backendNames()) {
    it(`${name} kernels: matmul (4 flag combinations), im2col, col2im, conv2d(+backward), maxPool2d(+backward), avgPool2d(+backward)`, () => {
      fc.assert(
        fc.property(kernelCases, (kc) => {
          runAll(kernels(name), kc, untouched);
        }),
        fcOptions,
      );
    });

    it(`${name} kernels on training-sized data (x=[8,3,16,16], 8 filters 5x5 pad 2, pooling over the same window): inputs and results stay unchanged`, () => {
      // large enough for a fast set's blocked / wasm / threaded paths, which small cases may not reach
      const [k1, k2] = split(key(2026), 2);
      const big = (k: Key): KernelCase => {
        const [kx, kw, kb, kdy, kp] = split(k, 5);
        const conv = convGeometry('conv2d', { inH: 16, inW: 16, filterH: 5, pad: 2 });
        const c: ConvCase = { xShape: [8, 3, 16, 16], params: { filterH: 5, filterW: 5, stride: 1, pad: 2 }, geometry: conv };
        return {
          c,
          x: normal(kx, c.xShape),
          w: normal(kw, [8, 3, 5, 5]),
          b: normal(kb, [8]),
          dy: normal(kdy, [8, 8, 16, 16]),
          pooledDy: normal(kp, [8, 3, 16, 16]),
        };
      };
      const first = big(k1);
      const results = runAll(kernels(name), first, untouched);
      const snaps = results.map(snapshotBytes);
      runAll(kernels(name), big(k2), untouched);
      results.forEach((t, i) => expect(sameBytes(snaps[i], t), `result ${i} (shape [${t.shape.join(',')}]) changed`).toBe(true));
    });

    it(`${name} kernels: a result is not changed by later calls on other data`, () => {
      fc.assert(
        fc.property(kernelCases, kernelCases, (first, second) => {
          const results = runAll(kernels(name), first, (_n, _i, run) => run());
          const snaps = results.map(snapshotBytes);
          runAll(kernels(name), second, (_n, _i, run) => run());
          results.forEach((t, i) => expect(sameBytes(snaps[i], t), `result ${i} (shape [${t.shape.join(',')}]) changed`).toBe(true));
        }),
        fcOptions,
      );
    });
  }
});
