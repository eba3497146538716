import { convGeometry, fastKernels, fromData, fusedKernelsOf, getThreads, key, referenceKernels, setThreads, startThreads, uniform, type ConvGeometry, type DType, type Kernels, type Tensor } from '@foldnet/core';
import { bitwiseEqual, closeTo, convGeometryArb, type ConvCase } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The fused conv2d -> ReLU -> max pool (pooling runs before ReLU inside it) against the operations it
 * stands for, run one by one in the layers' order: conv2dOut, relu, maxPool2d forward; maxPool2dBackward,
 * reluBackward, conv2dBackwardFromInput backward.
 */

interface FusedCase {
  readonly c: ConvCase;
  readonly FN: number;
  readonly pool: ConvGeometry;
  readonly seed: number;
  readonly values: 'uniform' | 'ties' | 'special';
}

// a conv geometry, then a pool (window 1..3, stride 1..3, pad 0) that fits its output
const fusedCase: fc.Arbitrary<FusedCase> = fc
  .record({
    c: convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 12 }),
    FN: fc.integer({ min: 1, max: 9 }),
    size: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 3 }),
    seed: fc.nat(1000),
    values: fc.constantFrom('uniform' as const, 'ties' as const, 'special' as const),
  })
  .filter(({ c, size }) => c.geometry.outH >= size && c.geometry.outW >= size)
  .map(({ c, FN, size, stride, seed, values }) => ({
    c, FN, seed, values,
    pool: convGeometry('pool', { inH: c.geometry.outH, inW: c.geometry.outW, filterH: size, stride, pad: 0 }),
  }));

// the lesson's pool (2x2, stride 2), which the fast set runs in place in its working memory
const lessonCase: fc.Arbitrary<FusedCase> = fusedCase
  .filter(({ c }) => c.geometry.outH >= 2 && c.geometry.outW >= 2)
  .map((f) => ({ ...f, pool: convGeometry('pool', { inH: f.c.geometry.outH, inW: f.c.geometry.outW, filterH: 2, stride: 2, pad: 0 }) }));

const special = [-1, 0, -0, 0.5, 1, Number.NaN, -Infinity, Infinity];

/** t with f applied to each element (index given), in t's dtype. */
const mapValues = (t: Tensor, f: (v: number, i: number) => number): Tensor =>
  fromData(t.shape, t.dtype === 'float64' ? Float64Array.from(t.data, f) : Float32Array.from(t.data, f));

/** x, w, b of a case; 'ties' rounds (equal maxima in windows), 'special' plants NaN, ±Infinity and zeros in x. */
const operands = (f: FusedCase, dtype: DType): { x: Tensor; w: Tensor; b: Tensor } => {
  const { xShape, geometry: g } = f.c;
  const draw = (s: number, shape: readonly number[]): Tensor => uniform(key(s), shape, { low: -1, high: 1, dtype });
  let x = draw(f.seed, xShape);
  if (f.values === 'ties') x = mapValues(x, (v) => Math.round(v * 2));
  if (f.values === 'special') x = mapValues(x, (v, i) => (i % 5 === 0 ? special[(i + f.seed) % special.length] : v));
  const w = draw(f.seed + 1, [f.FN, xShape[1], g.filterH, g.filterW]);
  const b = draw(f.seed + 2, [f.FN]);
  return { x, w: f.values === 'ties' ? mapValues(w, (v) => Math.round(v * 2)) : w, b };
};

/** The layers one by one: conv, ReLU, pool; and their pullbacks in reverse. */
const unfused = (k: Kernels, x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, pg: ConvGeometry) => {
  const c = k.conv2dOut(x, w, b, g);
  const r = k.relu(c);
  const p = k.maxPool2d(r, pg);
  return {
    out: p.out,
    backward: (dy: Tensor, needDx: boolean) => k.conv2dBackwardFromInput(k.reluBackward(c, k.maxPool2dBackward(dy, p.argmax, c.shape)), x, w, g, needDx),
  };
};

const sameGrads = (a: ReturnType<Kernels['conv2dBackward']>, b: ReturnType<Kernels['conv2dBackward']>): boolean =>
  bitwiseEqual(a.dw, b.dw) && bitwiseEqual(a.db!, b.db!) && (a.dx === undefined ? b.dx === undefined : b.dx !== undefined && bitwiseEqual(a.dx, b.dx));

describe.each([
  ['reference', referenceKernels, 'float64'],
  ['reference', referenceKernels, 'float32'],
  ['fast', fastKernels, 'float32'],
] as const)('%s conv2dReluMaxPool (%s) equals conv, ReLU, pool run one by one', (_, k, dtype) => {
  it.each([['generated pools', fusedCase], ['the 2x2 stride-2 pool', lessonCase]] as const)('%s: output and every gradient bit for bit, ties, NaN and infinities included', (__, arb) => {
    fc.assert(
      fc.property(arb, fc.boolean(), (f, needDx) => {
        const { x, w, b } = operands(f, dtype);
        const g = f.c.geometry;
        const fused = fusedKernelsOf(k).conv2dReluMaxPool(x, w, b, g, f.pool, true);
        const plain = unfused(k, x, w, b, g, f.pool);
        expect(bitwiseEqual(fused.out, plain.out)).toBe(true);
        const dy = uniform(key(f.seed + 3), fused.out.shape, { low: -1, high: 1, dtype });
        const convShape = [x.shape[0], f.FN, g.outH, g.outW];
        const grads = fusedKernelsOf(k).conv2dReluMaxPoolBackward(dy, fused.out, fused.argmax, x, w, g, convShape, needDx);
        expect(sameGrads(grads, plain.backward(dy, needDx))).toBe(true);
        expect(grads.dx === undefined).toBe(!needDx);
      }),
      { seed: 61, numRuns: 60 },
    );
  });

  // (the fast set pools the lesson's way without an argmax in one pass with ReLU, by f32x4.max where no NaN is near)
  it.each([['generated pools', fusedCase], ['the 2x2 stride-2 pool', lessonCase]] as const)('without keepArgmax, %s: the same output bit for bit (ties, NaN and infinities included) and an empty argmax', (__, arb) => {
    fc.assert(
      fc.property(arb, (f) => {
        const { x, w, b } = operands(f, dtype);
        const kept = fusedKernelsOf(k).conv2dReluMaxPool(x, w, b, f.c.geometry, f.pool, true);
        const bare = fusedKernelsOf(k).conv2dReluMaxPool(x, w, b, f.c.geometry, f.pool, false);
        expect(bitwiseEqual(bare.out, kept.out)).toBe(true);
        expect(bare.argmax.length).toBe(0);
        expect(kept.argmax.length).toBe(kept.out.size);
      }),
      { seed: 62, numRuns: 60 },
    );
  });
});

// Larger batches than the generated cases: the dense backward's GEMM crosses its 256-row K blocks, and the planes
// have P and OW not multiples of 4 (packDy's groups that span two rows, tails), odd conv outputs (a row and a
// column no window covers), FN not a multiple of 4; dy holds zeros, -0 and NaN.
describe('fast conv2dReluMaxPoolBackward equals the layers one by one on larger batches', () => {
  const threadsBefore = getThreads();
  beforeAll(() => {
    setThreads(2);
    startThreads();
  });
  afterAll(() => setThreads(threadsBefore));
  const shapes = [
    { x: [3, 1, 28, 28], filter: 5, pad: 0, FN: 30 }, // the lesson: P = 576
    { x: [2, 2, 16, 16], filter: 3, pad: 1, FN: 7 }, // P = 256
    { x: [4, 3, 9, 9], filter: 3, pad: 0, FN: 5 }, // OW = 7: P = 49, odd, tails
    { x: [5, 1, 15, 15], filter: 2, pad: 0, FN: 9 }, // OW = 14: groups of 4 span rows
    { x: [7, 2, 12, 11], filter: 3, pad: 1, FN: 4 }, // OH 12, OW 11
  ] as const;
  it.each(shapes)('x=$x filter $filter pad $pad FN $FN: dW, db and dx bit for bit, ties and special dy values included', ({ x: xShape, filter, pad, FN }) => {
    fc.assert(
      fc.property(fc.nat(1000), fc.constantFrom('uniform', 'ties', 'zeros', 'nan'), fc.boolean(), (seed, values, needDx) => {
        const [N, C, H, W] = xShape;
        const g = convGeometry('conv', { inH: H, inW: W, filterH: filter, filterW: filter, stride: 1, pad });
        const pool = convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, stride: 2, pad: 0 });
        let x = uniform(key(seed), [N, C, H, W], { low: -1, high: 1 });
        if (values === 'ties') x = mapValues(x, (v) => Math.round(v * 2));
        const w = uniform(key(seed + 1), [FN, C, filter, filter], { low: -1, high: 1 });
        const b = uniform(key(seed + 2), [FN], { low: -1, high: 1 });
        const fused = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pool, true);
        let dy = uniform(key(seed + 3), fused.out.shape, { low: -1, high: 1 });
        if (values === 'zeros') dy = mapValues(dy, (v, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? -0 : v));
        if (values === 'nan') dy = mapValues(dy, (v, i) => (i === seed % dy.size ? Number.NaN : v));
        const plain = unfused(fastKernels, x, w, b, g, pool).backward(dy, needDx);
        // one thread: dy packed image after image, db summed on the way; two: images split, db replayed in order
        for (const threads of [1, 2]) {
          setThreads(threads);
          const grads = fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, fused.out, fused.argmax, x, w, g, [N, FN, g.outH, g.outW], needDx);
          expect(bitwiseEqual(grads.dw, plain.dw), `dW, ${threads} thread(s)`).toBe(true);
          expect(bitwiseEqual(grads.db!, plain.db!), `db, ${threads} thread(s)`).toBe(true);
          expect(sameGrads(grads, plain)).toBe(true);
        }
      }),
      { seed: 64, numRuns: 12 },
    );
  });
});

describe.each([
  ['reference', referenceKernels, 'float64'],
  ['reference', referenceKernels, 'float32'],
  ['fast', fastKernels, 'float32'],
] as const)('%s conv2dRelu (%s) equals conv2dOut then relu', (_, k, dtype) => {
  it('output and every gradient bit for bit on generated geometries, ties, NaN and infinities included', () => {
    fc.assert(
      fc.property(fusedCase, fc.boolean(), (f, needDx) => {
        const { x, w, b } = operands(f, dtype);
        const g = f.c.geometry;
        const c = k.conv2dOut(x, w, b, g);
        const out = fusedKernelsOf(k).conv2dRelu(x, w, b, g);
        expect(bitwiseEqual(out, k.relu(c))).toBe(true);
        const dy = uniform(key(f.seed + 3), out.shape, { low: -1, high: 1, dtype });
        const fused = fusedKernelsOf(k).conv2dReluBackward(dy, out, x, w, g, needDx);
        expect(sameGrads(fused, k.conv2dBackwardFromInput(k.reluBackward(c, dy), x, w, g, needDx))).toBe(true);
      }),
      { seed: 64, numRuns: 60 },
    );
  });
});

describe('fast conv2dReluMaxPool against the reference', () => {
  it('forward close, and the backward from the same output and argmax close, on generated shapes', () => {
    fc.assert(
      fc.property(fc.oneof(fusedCase, lessonCase).filter((f) => f.values === 'uniform'), (f) => {
        const { x, w, b } = operands(f, 'float32');
        const g = f.c.geometry;
        const K = w.size / f.FN;
        const tol = { rtol: 1e-5, atol: 2e-6 * (K + 1) };
        const fast = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, f.pool, true);
        const ref = fusedKernelsOf(referenceKernels).conv2dReluMaxPool(x, w, b, g, f.pool, true);
        const r = closeTo(fast.out, ref.out, tol);
        expect(r.ok, r.message).toBe(true);
        const dy = uniform(key(f.seed + 3), ref.out.shape, { low: -1, high: 1 });
        const convShape = [x.shape[0], f.FN, g.outH, g.outW];
        const gf = fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, ref.out, ref.argmax, x, w, g, convShape, true);
        const gr = fusedKernelsOf(referenceKernels).conv2dReluMaxPoolBackward(dy, ref.out, ref.argmax, x, w, g, convShape, true);
        const rows = x.shape[0] * g.outH * g.outW;
        for (const [a, e, n] of [[gf.dw, gr.dw, rows], [gf.db, gr.db, rows], [gf.dx, gr.dx, f.FN * g.filterH * g.filterW]] as const) {
          if (a === undefined || e === undefined) throw new Error('dx missing');
          const c = closeTo(a, e, { rtol: 1e-5, atol: 2e-6 * (n + 1) });
          expect(c.ok, c.message).toBe(true);
        }
      }),
      { seed: 63, numRuns: 60 },
    );
  });
});
