import {
  allFinite,
  backendNames,
  fastKernels,
  fusedKernelsOf,
  type ConvReluPoolResult,
  fromData,
  getThreads,
  kernels,
  key,
  referenceKernels,
  setThreads,
  split,
  startThreads,
  threadsReady,
  threadStats,
  traceConvPaths,
  uniform,
  convGeometry,
  type Tensor,
} from '@foldnet/core';
import { closeTo, convGeometryArb, sameBytes, snapshotBytes, bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { setDirectConv, setPoolFilterGrad } from '../src/fast/kernels.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';

// Differential tests: the fast kernels against the reference kernels (the oracle), in float32.
// Tolerances: a float32 sum of K products of values in [-1, 1) differs between two summation orders by
// at most about K * 2^-24 * sum|terms|; atol = 2e-6 * (K + 1) covers that with room, rtol covers large values.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const tolFor = (K: number) => ({ rtol: 1e-5, atol: 2e-6 * (K + 1) });
const expectClose = (a: Tensor, b: Tensor, K: number, what: string): void => {
  const r = closeTo(a, b, tolFor(K));
  expect(r.ok, `${what}: ${r.message}`).toBe(true);
};

// sizes that stress the edges: 1, primes, around the SIMD width 4, the panel width 8 and the 4-row tile
const edgeSize = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 31, 33), fc.integer({ min: 1, max: 48 }));
const transposes = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

const operands = (M: number, N: number, K: number, transA: boolean, transB: boolean, seed: number): [Tensor, Tensor] => [
  fill(seed, transA ? [K, M] : [M, K]),
  fill(seed + 1, transB ? [N, K] : [K, N]),
];

afterEach(() => {
  setThreads(1);
});

describe('fast matmul equals reference', () => {
  for (const [transA, transB] of transposes) {
    it(`matmul transA=${transA} transB=${transB} on generated sizes (1, primes, not multiples of 4 or 8)`, () => {
      setThreads(1);
      fc.assert(
        fc.property(edgeSize, edgeSize, edgeSize, fc.nat(1000), (M, N, K, seed) => {
          const [a, b] = operands(M, N, K, transA, transB, seed);
          expectClose(fastKernels.matmul(a, b, transA, transB), referenceKernels.matmul(a, b, transA, transB), K, `[${M},${K}]x[${K},${N}]`);
        }),
        { seed: 42, numRuns: 60 },
      );
    });
  }

  // the blocking constants of wasm/gemm.wat: K blocks of 256, M blocks of 128
  for (const [M, N, K] of [
    [131, 9, 257],
    [129, 17, 300],
    [5, 3, 513],
  ] as const) {
    for (const [transA, transB] of transposes) {
      it(`matmul [${M},${K}]x[${K},${N}] transA=${transA} transB=${transB} crosses the cache blocks`, () => {
        const [a, b] = operands(M, N, K, transA, transB, 7);
        expectClose(fastKernels.matmul(a, b, transA, transB), referenceKernels.matmul(a, b, transA, transB), K, 'blocked');
      });
    }
  }

  // With many columns of B (N >= 256, and K*N >= 2^15 so that B is packed once and kept) a row-major A is transposed
  // before the kernel reads it (gemm.ts): the same bits as the product given the transposed A itself (transA), and the
  // reference within float32 tolerance.
  it('matmul with a row-major A transposed for the kernel (N >= 256): the bits of transA over the transposed A, ragged edges included', () => {
    fc.assert(
      fc.property(edgeSize, fc.constantFrom(1031, 1152), fc.integer({ min: 32, max: 70 }), fc.constantFrom(1, 2), fc.nat(1000), (M, N, K, threads, seed) => {
        setThreads(threads);
        const [a, b] = operands(M, N, K, false, false, seed);
        const aT = fromData([K, M], Float32Array.from({ length: K * M }, (_, i) => a.data[(i % M) * K + Math.floor(i / M)]!));
        const got = fastKernels.matmul(a, b, false, false);
        expect(bitwiseEqual(got, fastKernels.matmul(aT, b, true, false)), `[${M},${K}]x[${K},${N}], ${threads} thread(s)`).toBe(true);
        expectClose(got, referenceKernels.matmul(a, b, false, false), K, `[${M},${K}]x[${K},${N}]`);
      }),
      { seed: 45, numRuns: 40 },
    );
  });

  it('matmul keeps the packed B of the last call: reusing it, replacing it, and other kernels between calls never change a result', () => {
    // B big enough to be kept (>= 2^15 floats); square so transB over the same buffer is a different operand
    const b = fill(51, [192, 192]);
    const b2 = fill(52, [192, 192]);
    const wide = fill(53, [96, 400]);
    const x = fill(54, [4, 3, 20, 20]);
    const w = fill(55, [16, 3, 5, 5]);
    const expectMatmul = (a: Tensor, bb: Tensor, transB: boolean): void => {
      expectClose(fastKernels.matmul(a, bb, false, transB), referenceKernels.matmul(a, bb, false, transB), a.shape[1], `matmul transB=${transB}`);
    };
    const g = convGeometry('test', { inH: 20, inW: 20, filterH: 5, pad: 2 });
    for (const [i, seed] of [60, 61, 62].entries()) {
      const a = fill(seed, [7 + i, 192]);
      expectMatmul(a, b, false); // packed (first time) or reused
      expectMatmul(a, b, false); // reused
      expectMatmul(a, b2, false); // another buffer of the same shape: packed again
      expectMatmul(a, b2, true); // the same buffer, transposed: packed again
      expectMatmul(fill(seed + 10, [5, 96]), wide, false); // a larger B grows the kept region
      fastKernels.conv2d(x, w, fill(seed + 20, [16]), g); // a kernel that fills the workspace
      expectMatmul(a, b, false);
    }
  });

  // Kernels leave some results resident in kept slots (layout.ts: Adam's new p, m, v; a fused layer's pooled output),
  // and matmul reads such an operand in place: a generated chain of matmuls over Adam's results (as A, as B, transposed
  // or not, old ones whose slot was since reused: chains longer than Adam's 16 slots), with convolutions in between,
  // gives the bits of the same chain on
  // copies of the operands (which are never resident, so they always take the copying path).
  it('matmul operands read in place where Adam left them: a generated chain gives the bits of copied operands', () => {
    const D = 192; // D*D >= 2^15 floats: a kept packed B, a wasm Adam update
    const copy = (t: Tensor): Tensor => fromData(t.shape, t.data.slice());
    const step = { lrT: 0.001, c1: 0.1, c2: 0.001, wd: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: fc.nat(200), b: fc.nat(200), transA: fc.boolean(), transB: fc.boolean(), conv: fc.boolean() }), { minLength: 20, maxLength: 30 }),
        fc.constantFrom(1, 2),
        (chain, threads) => {
          setThreads(threads);
          const made: Tensor[] = [fill(70, [D, D]), fill(71, [D, D])];
          for (const { a, b, transA, transB, conv } of chain) {
            const [A, B] = [made[a % made.length]!, made[b % made.length]!];
            const expected = fastKernels.matmul(copy(A), copy(B), transA, transB);
            const got = fastKernels.matmul(A, B, transA, transB);
            expect(bitwiseEqual(got, expected), `${made.indexOf(A)} x ${made.indexOf(B)} transA ${transA} transB ${transB}`).toBe(true);
            if (conv) fastKernels.conv2d(fill(3, [2, 3, 12, 12]), fill(4, [8, 3, 3, 3]), fill(5, [8]), convGeometry('c', { inH: 12, inW: 12, filterH: 3, pad: 1 }));
            // Adam's results are resident: the next matmuls may take them
            const next = fastKernels.adamUpdate(A, got, B, fromData(got.shape, Float32Array.from(got.data, Math.abs)), step);
            made.push(next.p, next.m, next.v);
          }
        },
      ),
      { seed: 83, numRuns: 20 },
    );
  });

  it('a synchronous loop of matmuls by ever new weights keeps memory flat: the kept packed B holds on to one buffer, not all', () => {
    // 300 fresh 1.7 MB weight buffers in one job (as a synchronous training loop is): a WeakRef-keyed cache kept
    // every one alive until the job ended (~510 MB); the cache must keep at most the last
    const a = fill(71, [8, 432]);
    const w = fill(72, [432, 1000]);
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    for (let i = 0; i < 300; i++) {
      fastKernels.matmul(a, fromData(w.shape, Float32Array.from(w.data)), false, false);
      if (i % 50 === 49) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(peak).toBeLessThan(200 * 2 ** 20);
  });

  it('matmul [1,1]x[1,1] is the product', () => {
    const c = fastKernels.matmul(fromData([1, 1], new Float32Array([3])), fromData([1, 1], new Float32Array([-2])), false, false);
    expect([...c.data]).toEqual([-6]);
  });

  it('matmul propagates NaN and Infinity as the reference does', () => {
    const a = fromData([2, 2], new Float32Array([0, 1, NaN, 2]));
    const b = fromData([2, 2], new Float32Array([Infinity, 1, 1, 1]));
    const f = fastKernels.matmul(a, b, false, false);
    const r = referenceKernels.matmul(a, b, false, false);
    expect([...f.data]).toEqual([...r.data]);
  });

  it('matmul on float64 inputs runs the reference kernels (same bits, float64 out)', () => {
    const a = uniform(key(3), [5, 7], { dtype: 'float64' });
    const b = uniform(key(4), [7, 3], { dtype: 'float64' });
    const f = fastKernels.matmul(a, b, false, false);
    expect(f.dtype).toBe('float64');
    expect(bitwiseEqual(f, referenceKernels.matmul(a, b, false, false))).toBe(true);
  });
});

describe('fast convolution and pooling equal reference', () => {
  const convCase = fc.record({ c: convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 11 }), FN: edgeSize, seed: fc.nat(1000) });

  it('conv2d forward (out and col) on generated geometries, stride and pad', () => {
    fc.assert(
      fc.property(convCase, ({ c, FN, seed }) => {
        const { xShape, geometry: g } = c;
        const x = fill(seed, xShape);
        const w = fill(seed + 1, [FN, xShape[1], g.filterH, g.filterW]);
        const b = fill(seed + 2, [FN]);
        const f = fastKernels.conv2d(x, w, b, g);
        const r = referenceKernels.conv2d(x, w, b, g);
        expect(bitwiseEqual(f.col, r.col)).toBe(true);
        expectClose(f.out, r.out, w.size / FN, `conv2d x=[${xShape}] w=[${w.shape}]`);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  // The direct convolution (conv.wat's convDirect: stride 1, OW >= 8, Kc <= 256) against the GEMM on the implicit
  // im2col, which it replaces there: the same sums in the same order, so the same bits, with bias, ReLU and the
  // lesson's pool after it, FN not a multiple of 4, OW not a multiple of 8 (the last tile overlaps), NaN and ±Infinity;
  // and images mostly of ±0 (whole tiles skip their sums), with finite weights or with an infinite one (which turns
  // 0 * w into NaN, so no tile may skip).
  it('the direct convolution is bit-identical to the GEMM path: conv2dOut, conv2dRelu, conv2dReluMaxPool on generated stride-1 geometries', () => {
    const directCase = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 1, max: 4 }),
      FN: edgeSize,
      filter: fc.integer({ min: 1, max: 5 }),
      pad: fc.integer({ min: 0, max: 2 }),
      // OW = W + 2 pad - filter + 1 >= 8, up to 8 + 17
      extraW: fc.integer({ min: 0, max: 17 }),
      H: fc.integer({ min: 1, max: 12 }),
      values: fc.constantFrom('uniform', 'special', 'zeros', 'zerosInfW'),
      seed: fc.nat(1000),
    });
    try {
      fc.assert(
        fc.property(directCase, ({ N, C, FN, filter, pad, extraW, H: h, values, seed }) => {
          const W = 8 + extraW + filter - 1 - 2 * pad;
          const H = Math.max(h, filter - 2 * pad);
          fc.pre(W >= 1);
          const g = convGeometry('direct', { inH: H, inW: W, filterH: filter, filterW: filter, stride: 1, pad });
          const x = fill(seed, [N, C, H, W]);
          const xd = x.data as Float32Array;
          if (values === 'special') xd.set([NaN, Infinity, -Infinity], seed % Math.max(1, x.size - 3));
          // a few nonzero values in a field of +0 and -0
          if (values === 'zeros' || values === 'zerosInfW') xd.forEach((v, i) => (xd[i] = (i * 7 + seed) % 23 === 0 ? v : i % 2 === 0 ? 0 : -0));
          const w = fill(seed + 1, [FN, C, filter, filter]);
          if (values === 'zerosInfW') (w.data as Float32Array)[seed % w.size] = Infinity;
          const b = fill(seed + 2, [FN]);
          const run = (direct: boolean) => {
            setDirectConv(direct);
            const out = fastKernels.conv2dOut(x, w, b, g);
            const relu = fusedKernelsOf(fastKernels).conv2dRelu(x, w, b, g);
            const pool = g.outH >= 2 ? convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, filterW: 2, stride: 2, pad: 0 }) : undefined;
            const pooled = pool ? fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pool, true) : undefined;
            return { out, relu, pooled };
          };
          const viaGemm = run(false);
          const direct = run(true);
          expect(bitwiseEqual(direct.out, viaGemm.out), `conv2dOut x=[${x.shape}] w=[${w.shape}] pad ${pad}`).toBe(true);
          expect(bitwiseEqual(direct.relu, viaGemm.relu), 'conv2dRelu').toBe(true);
          if (direct.pooled && viaGemm.pooled) {
            expect(bitwiseEqual(direct.pooled.out, viaGemm.pooled.out), 'conv2dReluMaxPool out').toBe(true);
            expect(direct.pooled.argmax).toEqual(viaGemm.pooled.argmax);
          }
        }),
        { seed: 47, numRuns: 80 },
      );
    } finally {
      setDirectConv(true);
    }
  });

  // The first layer's filter gradient from the pooled dy alone (pool-filter-grad.wat's poolFilterGrad) against the dense path it
  // replaces (the conv's dy built, packed and multiplied over every row): the same bits. Generated geometries cover
  // several groups of five window rows (C*FH up to 24), FW up to 8, stride 2, padding, pooled rows not a multiple of
  // 4 windows (OW = 20: PW = 10), batches whose rows cross the GEMM's 256-row K blocks, FN not a multiple of 4 (db's
  // per-channel edge), ReLU masking about half, zeros, -0, NaN and ±Infinity in dy, images with a background of ±0, 1 and
  // 2 threads; and the cases it leaves to the dense path: Inf or NaN in x, OW not a multiple of 4, FW > 8, an argmax
  // outside its 2x2 window.
  it('the pooled filter gradient is bit-identical to the dense path on generated geometries, and leaves it the cases it does not cover', () => {
    const sparseCase = fc.record({
      N: fc.integer({ min: 1, max: 4 }),
      C: fc.integer({ min: 1, max: 3 }),
      FN: fc.integer({ min: 1, max: 11 }),
      filter: fc.integer({ min: 1, max: 9 }),
      stride: fc.constantFrom(1, 1, 2),
      pad: fc.integer({ min: 0, max: 2 }),
      // OW = 4, 8, ..., 28 mostly; sometimes not a multiple of 4
      ow: fc.oneof(fc.integer({ min: 1, max: 7 }).map((q) => 4 * q), fc.integer({ min: 2, max: 13 })),
      oh: fc.integer({ min: 2, max: 13 }),
      dyValues: fc.constantFrom('uniform', 'zeros', 'nan', 'inf'),
      xValues: fc.constantFrom('uniform', 'uniform', 'background', 'inf'),
      otherPool: fc.boolean(),
      threads: fc.constantFrom(1, 2),
      seed: fc.nat(1000),
    });
    try {
      fc.assert(
        fc.property(sparseCase, ({ N, C, FN, filter, stride, pad, ow, oh, dyValues, xValues, otherPool, threads, seed }) => {
          const W = (ow - 1) * stride + filter - 2 * pad;
          const H = (oh - 1) * stride + filter - 2 * pad;
          fc.pre(W >= 1 && H >= 1);
          setThreads(threads);
          const g = convGeometry('conv', { inH: H, inW: W, filterH: filter, filterW: filter, stride, pad });
          const pool = convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, filterW: 2, stride: 2, pad: 0 });
          const x = fill(seed, [N, C, H, W]);
          const xd = x.data as Float32Array;
          if (xValues === 'inf') xd[seed % x.size] = seed % 2 === 0 ? Infinity : NaN;
          // MNIST-like images: values in a central block, ±0 around it (windows of zeros under nonzero dy)
          if (xValues === 'background') {
            xd.forEach((v, i) => {
              const [r, c] = [Math.floor(i / W) % H, i % W];
              xd[i] = Math.abs(r - H / 2) < H / 4 && Math.abs(c - W / 2) < W / 4 ? v : i % 2 === 0 ? 0 : -0;
            });
          }
          const w = fill(seed + 1, [FN, C, filter, filter]);
          const b = fill(seed + 2, [FN]);
          const fused = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pool, true);
          const dy = fill(seed + 3, fused.out.shape);
          const d = dy.data as Float32Array;
          if (dyValues === 'zeros') d.forEach((v, i) => (d[i] = i % 3 === 0 ? 0 : i % 3 === 1 ? -0 : v));
          if (dyValues === 'nan') d[seed % d.length] = NaN;
          // infinities, some over windows of zeros (Inf * 0 is NaN in the dense path, and must stay so)
          if (dyValues === 'inf') d.forEach((v, i) => (d[i] = i % 5 === 0 ? (i % 2 === 0 ? Infinity : -Infinity) : v));
          // another pool's argmax: one maximum moved out of its 2x2 window to the row below the window, or above it at
          // the plane's last window, inside its own plane as every pool's argmax is (the kernels rely on that: an index
          // past the plane would be written into another image's scratch, at 2 threads by another thread)
          const argmax = fused.argmax.slice();
          if (otherPool && g.outH > 2) {
            const i = seed % argmax.length;
            const row = Math.floor(argmax[i] / g.outW) % g.outH;
            const windowTop = 2 * (Math.floor(i / pool.outW) % pool.outH);
            const outside = windowTop + 2 < g.outH ? windowTop + 2 : windowTop - 1;
            argmax[i] += (outside - row) * g.outW;
          }
          const convShape = [N, FN, g.outH, g.outW];
          const run = (sparse: boolean) => {
            setPoolFilterGrad(sparse);
            return fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, fused.out, argmax, x, w, g, convShape, false);
          };
          const dense = run(false);
          const sparse = run(true);
          const what = `x=[${x.shape}] w=[${w.shape}] stride ${stride} pad ${pad} OW ${g.outW}, ${threads} thread(s)`;
          expect(bitwiseEqual(sparse.dw, dense.dw), `dW ${what}`).toBe(true);
          expect(bitwiseEqual(sparse.db!, dense.db!), `db ${what}`).toBe(true);
          expect(sparse.dx).toBeUndefined();
        }),
        { seed: 48, numRuns: 150 },
      );
    } finally {
      setPoolFilterGrad(true);
    }
  });

  it('the pooled filter gradient on the lesson layer with a batch of 100 (rows far past the first K blocks) equals the dense path, 1 and 2 threads', () => {
    const g = convGeometry('conv', { inH: 28, inW: 28, filterH: 5, filterW: 5, stride: 1, pad: 0 });
    const pool = convGeometry('pool', { inH: 24, inW: 24, filterH: 2, filterW: 2, stride: 2, pad: 0 });
    const x = fill(1, [100, 1, 28, 28]);
    const w = fill(2, [30, 1, 5, 5]);
    const fused = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, fill(3, [30]), g, pool, true);
    const dy = fill(4, fused.out.shape);
    try {
      for (const threads of [1, 2]) {
        setThreads(threads);
        const run = (sparse: boolean) => {
          setPoolFilterGrad(sparse);
          return fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, fused.out, fused.argmax, x, w, g, [100, 30, 24, 24], false);
        };
        const [dense, sparse] = [run(false), run(true)];
        expect(bitwiseEqual(sparse.dw, dense.dw), `dW, ${threads} thread(s)`).toBe(true);
        expect(bitwiseEqual(sparse.db!, dense.db!), `db, ${threads} thread(s)`).toBe(true);
      }
    } finally {
      setPoolFilterGrad(true);
    }
  });

  // conv2dReluMaxPool keeps out and argmax in the shared memory for its backward (a few layers' worth): backwards
  // given the kept buffers, after other layers' forwards, and given copies or outputs too old to be kept, must all
  // equal the backward from copies (which always copies them in), and the reference.
  it('the pooled outputs kept for the backward: any order of forwards and backwards over several layers gives the bits of copied operands', () => {
    const layers = [
      { x: fill(1, [3, 1, 12, 12]), w: fill(2, [5, 1, 3, 3]), b: fill(3, [5]), filter: 3, pad: 0 },
      { x: fill(4, [3, 2, 10, 10]), w: fill(5, [4, 2, 3, 3]), b: fill(6, [4]), filter: 3, pad: 1 },
      { x: fill(7, [2, 1, 9, 13]), w: fill(8, [6, 1, 2, 2]), b: fill(9, [6]), filter: 2, pad: 0 },
      // the first layer's shapes with other values: only the buffers' identity tells their kept outputs apart
      { x: fill(10, [3, 1, 12, 12]), w: fill(11, [5, 1, 3, 3]), b: fill(12, [5]), filter: 3, pad: 0 },
    ];
    fc.assert(
      fc.property(fc.array(fc.record({ layer: fc.integer({ min: 0, max: 3 }), age: fc.integer({ min: 0, max: 6 }), needDx: fc.boolean() }), { minLength: 5, maxLength: 30 }), (schedule) => {
        const history: { layer: number; fused: ConvReluPoolResult }[] = [];
        for (const { layer, age, needDx } of schedule) {
          const L = layers[layer]!;
          const [N, , H, W] = L.x.shape;
          const g = convGeometry('conv', { inH: H, inW: W, filterH: L.filter, filterW: L.filter, stride: 1, pad: L.pad });
          const pool = convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, filterW: 2, stride: 2, pad: 0 });
          history.push({ layer, fused: fusedKernelsOf(fastKernels).conv2dReluMaxPool(L.x, L.w, L.b, g, pool, true) });
          // the backward of this layer's forward `age` forwards of it ago (or its oldest)
          const mine = history.filter((h) => h.layer === layer);
          const { fused } = mine[Math.max(0, mine.length - 1 - age)]!;
          const dy = fill(age, fused.out.shape);
          const convShape = [N, L.w.shape[0], g.outH, g.outW];
          const got = fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, fused.out, fused.argmax, L.x, L.w, g, convShape, needDx);
          const copies = fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, fromData(fused.out.shape, fused.out.data.slice()), fused.argmax.slice(), L.x, L.w, g, convShape, needDx);
          expect(bitwiseEqual(got.dw, copies.dw) && bitwiseEqual(got.db!, copies.db!), `layer ${layer}, age ${age}`).toBe(true);
          if (needDx) expect(got.dx !== undefined && copies.dx !== undefined && bitwiseEqual(got.dx, copies.dx)).toBe(true);
          // and the reference, which keeps nothing, so a wrong kept operand in both calls above cannot pass either
          const r = fusedKernelsOf(referenceKernels).conv2dReluMaxPoolBackward(dy, fused.out, fused.argmax, L.x, L.w, g, convShape, false);
          expectClose(got.dw, r.dw, N * g.outH * g.outW, `dW, layer ${layer}, age ${age}`);
        }
      }),
      { seed: 49, numRuns: 25 },
    );
  });

  it('conv2dBackward (dx, dw, db; dx skipped when needDx is false) on generated geometries', () => {
    fc.assert(
      fc.property(convCase, fc.boolean(), ({ c, FN, seed }, needDx) => {
        const { xShape, geometry: g } = c;
        const x = fill(seed, xShape);
        const w = fill(seed + 1, [FN, xShape[1], g.filterH, g.filterW]);
        const col = referenceKernels.im2col(x, g);
        const dy = fill(seed + 3, [xShape[0], FN, g.outH, g.outW]);
        const f = fastKernels.conv2dBackward(dy, col, w, xShape, g, needDx);
        const r = referenceKernels.conv2dBackward(dy, col, w, xShape, g, needDx);
        const rows = col.shape[0];
        expectClose(f.dw, r.dw, rows, 'dw');
        expectClose(f.db!, r.db!, rows, 'db');
        if (needDx) {
          expect(f.dx).toBeDefined();
          if (f.dx && r.dx) expectClose(f.dx, r.dx, FN * g.filterH * g.filterW, 'dx');
        } else {
          expect(f.dx).toBeUndefined();
        }
      }),
      { seed: 43, numRuns: 60 },
    );
  });

  // dx of a stride-1 convolution as the direct convolution of dy (padded by FH - 1 - pad) with the filters turned by 180°
  // and their channels swapped, where conv.wat's direct path takes that convolution (W >= 8, FN*FH*FW <= 256): against
  // the reference through the three backwards that compute dx (kept col, x read in place, the pooled layer's), on
  // generated shapes: pad 0..FH-1, FN and C not multiples of 4, W not a multiple of 8 (the last tile overlaps), dy
  // mostly ±0 (as after a pool's pullback: whole tiles skip their sums) or with NaN and ±Infinity; an infinite weight
  // sends dx to the GEMM and col2im (the padding's zeros times it would be NaN where the reference has numbers); 1 and 2
  // threads give the same bits, and the trace names the path.
  it('the input gradient by the direct convolution equals the reference on generated stride-1 shapes, 1 and 2 threads alike', () => {
    const dxCase = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 1, max: 11 }),
      FN: fc.integer({ min: 1, max: 21 }),
      filter: fc.constantFrom(1, 2, 3, 5),
      padShare: fc.integer({ min: 0, max: 4 }),
      W: fc.integer({ min: 8, max: 25 }),
      H: fc.integer({ min: 5, max: 12 }),
      values: fc.constantFrom('uniform', 'sparse', 'special', 'infW'),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(dxCase, ({ N, C, FN, filter, padShare, W, H, values, seed }) => {
        const pad = padShare % filter;
        fc.pre(FN * filter * filter <= 256);
        const g = convGeometry('dx', { inH: H, inW: W, filterH: filter, stride: 1, pad });
        const x = fill(seed, [N, C, H, W]);
        const w = fill(seed + 1, [FN, C, filter, filter]);
        if (values === 'infW') (w.data as Float32Array)[seed % w.size] = -Infinity;
        const dy = fill(seed + 3, [N, FN, g.outH, g.outW]);
        const d = dy.data as Float32Array;
        if (values === 'sparse') d.forEach((v, i) => (d[i] = (i * 5 + seed) % 17 === 0 ? v : i % 2 === 0 ? 0 : -0));
        if (values === 'special') d.set([NaN, Infinity, -Infinity].slice(0, d.length), seed % Math.max(1, d.length - 2));
        const col = referenceKernels.im2col(x, g);
        const want = referenceKernels.conv2dBackward(dy, col, w, x.shape, g, true).dx;
        if (want === undefined) throw new Error('the reference gave no dx');
        const Kc = FN * filter * filter;
        const runs = [1, 2].map((threads) => {
          setThreads(threads);
          return traceConvPaths(() => [fastKernels.conv2dBackward(dy, col, w, x.shape, g, true).dx, fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx]);
        });
        for (const { result, paths } of runs) {
          const path = values === 'infW' ? 'GEMM + col2im' : 'direct';
          expect(paths.filter((p) => p.pass === 'input gradient').map((p) => p.algorithm)).toEqual([path, path]);
          for (const dx of result) {
            if (dx === undefined) throw new Error('no dx');
            expectClose(dx, want, Kc, `dx x=[${x.shape}] w=[${w.shape}] pad ${pad} (${values})`);
          }
        }
        runs[0].result.forEach((dx, i) => expect(bitwiseEqual(dx as Tensor, runs[1].result[i] as Tensor), '1 vs 2 threads').toBe(true));
      }),
      { seed: 48, numRuns: 60 },
    );
  });

  it('the input gradient leaves the shapes the direct convolution does not take to the GEMM and col2im (stride 2: to its phases)', () => {
    const cases = [
      { what: 'stride 2', x: [2, 3, 16, 16], FN: 4, filter: 3, stride: 2, pad: 1, algorithm: 'stride-2 phases' },
      { what: 'stride 2, 6x6 phases', x: [2, 3, 12, 12], FN: 4, filter: 3, stride: 2, pad: 1, algorithm: 'GEMM + col2im' },
      { what: 'stride 3', x: [2, 3, 12, 12], FN: 4, filter: 3, stride: 3, pad: 1, algorithm: 'GEMM + col2im' },
      { what: 'pad past FH - 1', x: [2, 3, 12, 12], FN: 4, filter: 3, stride: 1, pad: 3, algorithm: 'GEMM + col2im' },
      { what: 'fewer than 8 columns', x: [2, 3, 7, 7], FN: 4, filter: 3, stride: 1, pad: 1, algorithm: 'GEMM + col2im' },
      { what: 'FN*FH*FW > 256', x: [2, 3, 12, 12], FN: 29, filter: 3, stride: 1, pad: 1, algorithm: 'GEMM + col2im' },
    ] as const;
    for (const { what, x: xShape, FN, filter, stride, pad, algorithm } of cases) {
      const g = convGeometry('dx', { inH: xShape[2], inW: xShape[3], filterH: filter, stride, pad });
      const x = fill(1, xShape);
      const w = fill(2, [FN, xShape[1], filter, filter]);
      const dy = fill(3, [xShape[0], FN, g.outH, g.outW]);
      const { result, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx);
      expect(paths.filter((p) => p.pass === 'input gradient').map((p) => p.algorithm), what).toEqual([algorithm]);
      const want = referenceKernels.conv2dBackwardFromInput(dy, x, w, g, true).dx;
      if (result === undefined || want === undefined) throw new Error('no dx');
      expectClose(result, want, FN * filter * filter, what);
    }
  });

  it('im2col is bit-identical and col2im equal on generated geometries', () => {
    fc.assert(
      fc.property(convGeometryArb({ maxInput: 11 }), fc.nat(1000), ({ xShape, geometry: g }, seed) => {
        const x = fill(seed, xShape);
        const col = fastKernels.im2col(x, g);
        expect(bitwiseEqual(col, referenceKernels.im2col(x, g))).toBe(true);
        const y = fill(seed + 1, col.shape);
        expectClose(fastKernels.col2im(y, xShape, g), referenceKernels.col2im(y, xShape, g), g.filterH * g.filterW, 'col2im');
      }),
      { seed: 44, numRuns: 80 },
    );
  });

  it('maxPool2d forward (values and argmax) and backward on generated windows, ties included', () => {
    fc.assert(
      fc.property(convGeometryArb({ maxInput: 11 }), fc.nat(1000), fc.boolean(), ({ xShape, geometry: g }, seed, ties) => {
        // rounded values make equal maxima in a window common: the first one must win on both sides
        const raw = fill(seed, xShape);
        const x = ties ? fromData(xShape, Float32Array.from(raw.data, (v) => Math.round(v * 2))) : raw;
        const f = fastKernels.maxPool2d(x, g);
        const r = referenceKernels.maxPool2d(x, g);
        expect(bitwiseEqual(f.out, r.out)).toBe(true);
        expect([...f.argmax]).toEqual([...r.argmax]);
        const dy = fill(seed + 1, f.out.shape);
        expect(bitwiseEqual(fastKernels.maxPool2dBackward(dy, f.argmax, xShape), referenceKernels.maxPool2dBackward(dy, r.argmax, xShape))).toBe(true);
      }),
      { seed: 45, numRuns: 80 },
    );
  });

  it('maxPool2d 2x2 without padding (the lesson pool, stride 1..3) on generated N, C, H, W with ties, NaN and -Infinity', () => {
    const special = fc.constantFrom(-1, 0, 0.5, 1, Number.NaN, -Infinity);
    fc.assert(
      fc.property(
        fc.record({ N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 2, max: 19 }), W: fc.integer({ min: 2, max: 19 }), stride: fc.integer({ min: 1, max: 3 }) }),
        fc.nat(1000),
        fc.oneof(fc.constant('uniform'), fc.constant('ties'), fc.constant('special')),
        fc.array(special, { minLength: 64, maxLength: 64 }),
        ({ N, C, H, W, stride }, seed, kind, pool) => {
          const g = convGeometry('test', { inH: H, inW: W, filterH: 2, stride });
          const shape = [N, C, H, W];
          const raw = fill(seed, shape);
          const values =
            kind === 'uniform' ? raw.data : kind === 'ties' ? Float32Array.from(raw.data, (v) => Math.round(v * 2)) : Float32Array.from(raw.data, (_, i) => pool[(i * 7 + seed) % 64]);
          const x = fromData(shape, Float32Array.from(values));
          const f = fastKernels.maxPool2d(x, g);
          const r = referenceKernels.maxPool2d(x, g);
          expect(bitwiseEqual(f.out, r.out)).toBe(true);
          expect([...f.argmax]).toEqual([...r.argmax]);
        },
      ),
      { seed: 47, numRuns: 120 },
    );
  });

  it('avgPool2d forward and backward on generated windows with padding', () => {
    fc.assert(
      fc.property(convGeometryArb({ maxInput: 11 }), fc.nat(1000), ({ xShape, geometry: g }, seed) => {
        const x = fill(seed, xShape);
        const area = g.filterH * g.filterW;
        expectClose(fastKernels.avgPool2d(x, g), referenceKernels.avgPool2d(x, g), area, 'avgPool2d');
        const dy = fill(seed + 1, [xShape[0], xShape[1], g.outH, g.outW]);
        expectClose(fastKernels.avgPool2dBackward(dy, xShape, g), referenceKernels.avgPool2dBackward(dy, xShape, g), area, 'avgPool2dBackward');
      }),
      { seed: 46, numRuns: 80 },
    );
  });

  it('maxPool2d with a window wholly in the padding gives -Infinity and argmax -1, as the reference', () => {
    const g = convGeometry('test', { inH: 1, inW: 1, filterH: 1, stride: 1, pad: 1 });
    const x = fromData([1, 1, 1, 1], new Float32Array([5]));
    const f = fastKernels.maxPool2d(x, g);
    const r = referenceKernels.maxPool2d(x, g);
    expect([...f.out.data]).toEqual([...r.out.data]);
    expect([...f.argmax]).toEqual([...r.argmax]);
  });
});

describe('fast kernels are pure', () => {
  it('conv2d x=[2,3,7,7] w=[4,3,3,3] stride=2 pad=1, its backward, pooling and matmul leave their inputs unchanged', () => {
    const [k1, k2, k3, k4] = split(key(9), 4);
    const x = uniform(k1, [2, 3, 7, 7]);
    const w = uniform(k2, [4, 3, 3, 3]);
    const b = uniform(k3, [4]);
    const g = convGeometry('test', { inH: 7, inW: 7, filterH: 3, stride: 2, pad: 1 });
    const snaps = [x, w, b].map(snapshotBytes);
    const { out, col } = fastKernels.conv2d(x, w, b, g);
    const dy = uniform(k4, out.shape);
    const more = [col, dy].map(snapshotBytes);
    fastKernels.conv2dBackward(dy, col, w, x.shape, g, true);
    const pool = fastKernels.maxPool2d(x, g);
    const argmaxBefore = pool.argmax.slice();
    fastKernels.maxPool2dBackward(pool.out, pool.argmax, x.shape);
    fastKernels.avgPool2dBackward(pool.out, x.shape, g);
    fastKernels.matmul(col, col, true, false);
    expect([x, w, b].every((t, i) => sameBytes(snaps[i], t))).toBe(true);
    expect([col, dy].every((t, i) => sameBytes(more[i], t))).toBe(true);
    expect([...pool.argmax]).toEqual([...argmaxBefore]);
  });

  it('a result stays unchanged after later fast calls reuse the working memory', () => {
    const a = fill(1, [40, 30]);
    const c = fastKernels.matmul(a, a, false, true);
    const snap = snapshotBytes(c);
    fastKernels.matmul(fill(2, [64, 64]), fill(3, [64, 64]), false, false);
    expect(sameBytes(snap, c)).toBe(true);
  });
});

describe('threads', () => {
  // every GEMM here has more than 4M multiply-adds (2^22), the size below which the fast set stays on one thread
  it('the threaded GEMM equals the single-threaded one bit for bit, every transpose, [203,97]x[97,251]', () => {
    setThreads(1);
    const cases = transposes.map(([transA, transB]) => {
      const [a, b] = operands(203, 251, 97, transA, transB, 11);
      return { a, b, transA, transB, one: fastKernels.matmul(a, b, transA, transB) };
    });
    for (const n of [2, 3]) {
      setThreads(n);
      expect(startThreads()).toBe(n - 1);
      for (const { a, b, transA, transB, one } of cases) expect(bitwiseEqual(fastKernels.matmul(a, b, transA, transB), one)).toBe(true);
    }
  });

  it('workers really take chunks of a [512,256]x[256,128] GEMM, and the result is unchanged', () => {
    const [a, b] = operands(512, 128, 256, false, false, 12);
    setThreads(1);
    const one = fastKernels.matmul(a, b, false, false);
    untilAWorkerTakesPart(() => expect(bitwiseEqual(fastKernels.matmul(a, b, false, false), one)).toBe(true));
  });

  it('threaded conv2d and conv2dBackward (needDx true and false) x=[12,3,20,20] w=[16,3,5,5] pad=2 equal the single-threaded ones', () => {
    const x = fill(21, [12, 3, 20, 20]);
    const w = fill(22, [16, 3, 5, 5]);
    const b = fill(23, [16]);
    const g = convGeometry('test', { inH: 20, inW: 20, filterH: 5, pad: 2 });
    const dy = fill(24, [12, 16, 20, 20]);
    setThreads(1);
    const one = fastKernels.conv2d(x, w, b, g);
    const oneB = fastKernels.conv2dBackward(dy, one.col, w, x.shape, g, true);
    const oneF = fastKernels.conv2dBackward(dy, one.col, w, x.shape, g, false);
    setThreads(2);
    startThreads();
    const two = fastKernels.conv2d(x, w, b, g);
    const twoB = fastKernels.conv2dBackward(dy, two.col, w, x.shape, g, true);
    const twoF = fastKernels.conv2dBackward(dy, two.col, w, x.shape, g, false);
    expect(bitwiseEqual(twoF.dw, oneF.dw)).toBe(true);
    expect(bitwiseEqual(two.out, one.out)).toBe(true);
    expect(bitwiseEqual(twoB.dw, oneB.dw)).toBe(true);
    expect(oneB.dx && twoB.dx && bitwiseEqual(twoB.dx, oneB.dx)).toBe(true);
  });

  it.each([
    [5, 2],
    [4, 1],
  ])('threaded conv2dReluMaxPool and its backward (filter %i, pad %i: even and odd conv outputs) equal the single-threaded ones', (size, pad) => {
    const x = fill(31, [12, 3, 20, 20]);
    const w = fill(32, [16, 3, size, size]);
    const b = fill(33, [16]);
    const g = convGeometry('test', { inH: 20, inW: 20, filterH: size, pad });
    const pg = convGeometry('pool', { inH: g.outH, inW: g.outW, filterH: 2, stride: 2 });
    const convShape = [12, 16, g.outH, g.outW];
    const dy = fill(34, [12, 16, pg.outH, pg.outW]);
    setThreads(1);
    const one = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pg, true);
    const oneB = fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, one.out, one.argmax, x, w, g, convShape, true);
    setThreads(2);
    startThreads();
    const two = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pg, true);
    const twoB = fusedKernelsOf(fastKernels).conv2dReluMaxPoolBackward(dy, two.out, two.argmax, x, w, g, convShape, true);
    expect(bitwiseEqual(two.out, one.out)).toBe(true);
    expect([...two.argmax]).toEqual([...one.argmax]);
    expect(bitwiseEqual(twoB.dw, oneB.dw)).toBe(true);
    expect(bitwiseEqual(twoB.db!, oneB.db!)).toBe(true);
    expect(oneB.dx && twoB.dx && bitwiseEqual(twoB.dx, oneB.dx)).toBe(true);
  });

  it('workers really take images of a convolution (convImages), and the result is unchanged', () => {
    const x = fill(41, [16, 1, 28, 28]);
    const w = fill(42, [30, 1, 5, 5]);
    const b = fill(43, [30]);
    const g = convGeometry('test', { inH: 28, inW: 28, filterH: 5 });
    const pg = convGeometry('pool', { inH: 24, inW: 24, filterH: 2, stride: 2 });
    setThreads(1);
    const one = fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pg, true);
    untilAWorkerTakesPart(() => expect(bitwiseEqual(fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pg, true).out, one.out)).toBe(true));
  });

  it('back-to-back jobs of alternating chunk counts stay exact: a worker late for one job never runs a chunk of the next with mixed parameters', () => {
    // The race this guards against needs a worker descheduled between waking and claiming while the next job, of
    // more chunks, is published: rare, so many short jobs whose chunk counts alternate (16 images, then 3).
    const g = convGeometry('test', { inH: 28, inW: 28, filterH: 5 });
    const pg = convGeometry('pool', { inH: 24, inW: 24, filterH: 2, stride: 2 });
    const w = fill(52, [8, 1, 5, 5]);
    const b = fill(53, [8]);
    const inputs = [fill(50, [16, 1, 28, 28]), fill(51, [3, 1, 28, 28])];
    const conv = (x: Tensor) => fusedKernelsOf(fastKernels).conv2dReluMaxPool(x, w, b, g, pg, true).out;
    setThreads(1);
    const expected = inputs.map(conv);
    setThreads(2);
    expect(startThreads()).toBe(1);
    let wrong = 0;
    for (let i = 0; i < 1500; i++) if (!bitwiseEqual(conv(inputs[i % 2]), expected[i % 2])) wrong++;
    expect(wrong).toBe(0);
  });

  it('adamUpdate in wasm is bit-identical to the reference loop: generated sizes around the wasm threshold, odd ones, weight decay or not, zeros, tiny and huge values, 1 and 2 threads', () => {
    const special = [0, -0, 1e-30, -1e-30, 3e38, -3e38, 1, -1];
    fc.assert(
      fc.property(
        // around the wasm threshold (512), odd sizes, and around the split across threads (1 << 14)
        fc.integer({ min: 505, max: 520 }).chain((n) => fc.constantFrom(n, n * 3 + 1, n * 32 + n - 512)),
        fc.boolean(),
        fc.constantFrom(1, 2),
        fc.nat(1000),
        (n, decay, threads, seed) => {
          setThreads(threads);
          const planted = (t: Tensor): Tensor => fromData(t.shape, Float32Array.from(t.data, (v, i) => (i % 97 === 0 ? special[(i + seed) % special.length] : v)));
          const p = planted(fill(seed, [n]));
          const g = planted(fill(seed + 1, [n]));
          const m = fill(seed + 2, [n]);
          const v = fromData([n], Float32Array.from(fill(seed + 3, [n]).data, Math.abs));
          const step = { lrT: 0.001 * Math.sqrt(1 - 0.999 ** 3) / (1 - 0.9 ** 3), c1: 1 - 0.9, c2: 1 - 0.999, wd: decay ? 0.01 : 0 };
          const f = fastKernels.adamUpdate(p, g, m, v, step);
          const r = referenceKernels.adamUpdate(p, g, m, v, step);
          expect(bitwiseEqual(f.p, r.p) && bitwiseEqual(f.m, r.m) && bitwiseEqual(f.v, r.v)).toBe(true);
        },
      ),
      { seed: 81, numRuns: 24 },
    );
  });

  // The flag a training step refuses a non-finite update by: computed by the kernel from what it stores. One bad value
  // planted anywhere (the vector part, the pair, an odd last element, any thread's chunk), in any operand, or a step
  // whose rate or decay overflows float32; the flag must equal a pass over the results in both kernel sets.
  it('adamUpdate says whether p, m, v came out finite: one NaN or Infinity planted at any index of any operand, an overflowing rate or decay, 1 and 2 threads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 509, max: 518 }).chain((n) => fc.constantFrom(n, n * 3 + 1, n * 32 + n - 512, 7)),
        // gHuge: 1e22 at one index overflows v' alone ((1 - beta2) g^2 > 3.4e38) while m' and p' stay finite; vNeg: a negative v (a
        // corrupt state) makes sqrt(v') NaN
        fc.constantFrom('p', 'g', 'm', 'v', 'lr', 'decay', 'gHuge', 'vNeg', 'none'),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(1, 2),
        (n, where, bad, at, threads) => {
          setThreads(threads);
          const index = Math.min(n - 1, Math.floor(at * n));
          const planted = where === 'gHuge' ? { name: 'g', value: 1e22 } : where === 'vNeg' ? { name: 'v', value: -0.5 } : { name: where, value: bad };
          const operand = (name: string, seed: number, positive: boolean): Tensor =>
            fromData([n], Float32Array.from(fill(seed, [n]).data, (x, i) => (name === planted.name && i === index ? planted.value : positive ? Math.abs(x) : x)));
          const [p, g, m, v] = [operand('p', 1, false), operand('g', 2, false), operand('m', 3, false), operand('v', 4, true)];
          const step = { lrT: where === 'lr' ? 1e39 : 0.001, c1: 0.1, c2: 0.001, wd: where === 'decay' ? 1e308 : 0 };
          const f = fastKernels.adamUpdate(p, g, m, v, step);
          const r = referenceKernels.adamUpdate(p, g, m, v, step);
          const truth = allFinite(r.p) && allFinite(r.m) && allFinite(r.v);
          expect(truth).toBe(where === 'none');
          if (where === 'gHuge') expect(allFinite(r.p) && allFinite(r.m)).toBe(true);
          expect(f.finite, `fast, ${where} at ${index} of ${n}`).toBe(truth);
          expect(r.finite, `reference, ${where} at ${index} of ${n}`).toBe(truth);
        },
      ),
      { seed: 83, numRuns: 160 },
    );
  });

  // adamUpdate keeps its results in the shared memory and skips copying p, m, v in when they come back as the next
  // call's inputs: a generated schedule of updates of several parameters (more than it keeps), each fed either its
  // last results (kept) or an older state (not), with GEMMs and convolutions reusing the working memory in between,
  // must give the reference loop's bits every time.
  it('adamUpdate fed its own results back, older states, many parameters and other kernels in between: the reference bits every time', () => {
    const sizes = [16384, 20001, 50000];
    const params = Array.from({ length: 20 }, (_, i) => sizes[i % 3] ?? 16384);
    fc.assert(
      fc.property(fc.array(fc.record({ param: fc.integer({ min: 0, max: params.length - 1 }), older: fc.boolean(), between: fc.boolean() }), { minLength: 10, maxLength: 60 }), fc.constantFrom(1, 2), (schedule, threads) => {
        setThreads(threads);
        const step = { lrT: 0.002, c1: 0.1, c2: 0.001, wd: 0 };
        const init = params.map((n, i) => ({ p: fill(i, [n]), m: fill(i + 100, [n]), v: fromData([n], Float32Array.from(fill(i + 200, [n]).data, Math.abs)) }));
        const history = init.map((s) => [s]);
        const g = params.map((n, i) => fill(i + 300, [n]));
        for (const { param, older, between } of schedule) {
          const states = history[param] ?? [];
          const s = (older ? states[0] : states[states.length - 1]) ?? init[0]!;
          if (between) fastKernels.matmul(fill(1, [40, 300]), fill(2, [300, 120]), false, false);
          const f = fastKernels.adamUpdate(s.p, g[param]!, s.m, s.v, step);
          const r = referenceKernels.adamUpdate(s.p, g[param]!, s.m, s.v, step);
          expect(bitwiseEqual(f.p, r.p) && bitwiseEqual(f.m, r.m) && bitwiseEqual(f.v, r.v), `param ${param}${older ? ', an older state' : ''}`).toBe(true);
          states.push(f);
        }
      }),
      { seed: 82, numRuns: 15 },
    );
  });

  it('setThreads changes getThreads and refuses 0 and 1.5, naming the value', () => {
    setThreads(3);
    expect(getThreads()).toBe(3);
    expect(() => setThreads(0)).toThrow(/setThreads: .*got 0/);
    expect(() => setThreads(1.5)).toThrow(/got 1\.5/);
    expect(getThreads()).toBe(3);
  });

  it('threadsReady starts a new pool without blocking and resolves with its ready workers: 3 threads, then 2', async () => {
    setThreads(3);
    expect(await threadsReady()).toBe(2);
    expect(threadStats().readyWorkers).toBe(2);
    setThreads(2);
    // a pool of another size is replaced; the new one starts from none ready
    expect(await threadsReady()).toBe(1);
    expect(threadStats().readyWorkers).toBe(1);
  });

  it('setThreads(1) keeps the started workers idle, so going back to 2 threads needs no new ones (a browser starts them only between tasks)', async () => {
    setThreads(2);
    expect(await threadsReady()).toBe(1);
    setThreads(1);
    expect(threadStats()).toMatchObject({ threads: 1, readyWorkers: 1 });
    setThreads(2);
    // no start, no wait: the same worker takes chunks at once
    expect(threadStats().readyWorkers).toBe(1);
    const before = threadStats().workerChunks;
    const [a, b] = operands(512, 128, 256, false, false, 12);
    for (let i = 0; i < 50 && threadStats().workerChunks === before; i++) fastKernels.matmul(a, b, false, false);
    expect(threadStats().workerChunks).toBeGreaterThan(before);
  });
});

describe('registry', () => {
  it("'fast' is registered and is the default backend when FOLDNET_BACKEND is unset", () => {
    expect(backendNames()).toContain('fast');
    vi.stubEnv('FOLDNET_BACKEND', '');
    try {
      expect(kernels().name).toBe('fast');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("FOLDNET_BACKEND=reference still selects the reference kernels", () => {
    vi.stubEnv('FOLDNET_BACKEND', 'reference');
    try {
      expect(kernels().name).toBe('reference');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
