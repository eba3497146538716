import { setThreads } from '@foldnet/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmIndexed, gemmStrided } from '../src/fast/gemm.js';
import { workspace } from '../src/fast/layout.js';
import { f32, wasm } from '../src/fast/wasm.js';
import { untilAWorkerTakesPart } from './workers.js';

/*
 * gemm.wat's gemmRows against the sums it promises, written out in JavaScript: C[i, j] sums k in blocks of 256, each
 * block ((0 + A[i, k0] B[k0, j]) + A[i, k0 + 1] B[k0 + 1, j]) + ... with every product rounded to float32 before its add
 * (no fused multiply-add), and the blocks are added in order to C (to what C held with acc, else to the first block).
 * Bit for bit, on generated shapes: A row-major, transposed (its rows side by side) or indexed through offset tables
 * (an implicit im2col), M not a multiple of a tile's 4 rows and crossing the 128-row blocks, N not a multiple of a
 * panel's 8 columns, K across several blocks, row ranges [m0, m1) that start inside a tile, rows of C wider than N;
 * nothing written outside C's rows [m0, m1) and columns [0, N). The micro-kernel runs down a whole column of tiles per
 * call, each next tile's rows found by a step (strided) or by the next entries of the row table (indexed); a tile's
 * rows or C taken from the wrong place fails here.
 */

afterEach(() => {
  setThreads(1);
});

type Layout = 'row-major' | 'transposed' | 'indexed';

interface Case {
  readonly layout: Layout;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** The first row computed (rows [m0, M)): gemmRows is called on a thread's chunk of rows, or on one image's rows. */
  readonly m0: number;
  /** Floats a row of C past N. */
  readonly pad: number;
  readonly acc: boolean;
  readonly seed: number;
  readonly specials: boolean;
}

const special = [0, -0, 1e-40, -3e-39, 65504, -1e30, Number.NaN, Infinity];
/** n floats spread in about [-4, 4], every 13th one special (±0, subnormals, large, NaN, Infinity) when `specials`. */
const values = (n: number, seed: number, specials: boolean): Float32Array =>
  Float32Array.from({ length: n }, (_, i) =>
    specials && i % 13 === 6 ? special[(i + seed) % special.length] : (((i * 7919 + seed * 104729) % 4001) - 2000) / 500 + 1 / 7);

/** A float no kernel writes: a NaN with a payload, to find stores outside C's rows and columns. */
const SENTINEL = new Float32Array(new Int32Array([0x7fc0beef]).buffer)[0];
const SENTINEL_BITS = 0x7fc0beef;

/** The indexed layout's tables, in floats: A[i, k] = x[rowAt(i) + kAt(k)], rows and ks spread irregularly over x. */
const rowAt = (i: number): number => 3 * i + (i % 5);
const kAt = (k: number): number => 2 * k + (k % 3);

/** Where A[i, k] is among A's floats, for a strided layout. */
const stridedAt = (c: Case, i: number, k: number): number => (c.layout === 'transposed' ? k * c.M + i : i * c.K + k);

// rowAt(i) <= 3i + 4, kAt(k) <= 2k + 2
const aFloats = (c: Case): number => (c.layout === 'indexed' ? 3 * (c.M - 1) + 4 + 2 * (c.K - 1) + 2 + 1 : c.M * c.K);

/** C [M, N + pad] as gemmRows' promise gives it from C's values `c0` (read with acc only), A's floats `a` and B [K, N]. */
const promised = (c: Case, a: Float32Array, b: Float32Array, c0: Float32Array): Float32Array => {
  const { M, N, K, m0, pad, acc } = c;
  const ldc = N + pad;
  const out = Float32Array.from(c0);
  const at = (i: number, k: number): number => (c.layout === 'indexed' ? rowAt(i) + kAt(k) : stridedAt(c, i, k));
  for (let i = m0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let total = 0;
      for (let k0 = 0; k0 < K; k0 += 256) {
        let block = 0;
        for (let k = k0; k < Math.min(K, k0 + 256); k++) block = Math.fround(block + Math.fround(a[at(i, k)] * b[k * N + j]));
        total = k0 === 0 && !acc ? block : Math.fround(block + (k0 === 0 ? c0[i * ldc + j] : total));
      }
      out[i * ldc + j] = total;
    }
  return out;
};

/** C [M, N + pad] by gemmRows (through gemmStrided or gemmIndexed, at the thread count set), SENTINEL where C started unwritten. */
const computed = (c: Case, a: Float32Array, b: Float32Array, c0: Float32Array): Float32Array => {
  const { layout, M, N, K, m0, pad, acc } = c;
  const ldc = N + pad;
  const [pa, pb, pbp, pc, prow, pk] = workspace([a.length, K * N, K * Math.ceil(N / 8) * 8, M * ldc, M, K]);
  const mem = f32();
  mem.set(a, pa / 4);
  mem.set(b, pb / 4);
  mem.set(c0, pc / 4);
  // the rows before m0 are not the call's: C's rows start at row m0, A's too (strided) or the row table (indexed)
  const rows = M - m0;
  const cAt = pc + 4 * m0 * ldc;
  if (layout === 'indexed') {
    new Int32Array(mem.buffer, prow, M).set(Int32Array.from({ length: M }, (_, i) => 4 * rowAt(i)));
    new Int32Array(mem.buffer, pk, K).set(Int32Array.from({ length: K }, (_, k) => 4 * kAt(k)));
    wasm.packB(pb, N, 1, K, N, pbp);
    if (acc) throw new Error('gemmIndexed overwrites C');
    gemmIndexed(rows, N, K, pa, prow + 4 * m0, pk, pbp, cAt, ldc);
  } else {
    const A = layout === 'transposed' ? { ptr: pa + 4 * m0, rs: 1, cs: M } : { ptr: pa + 4 * m0 * K, rs: K, cs: 1 };
    gemmStrided(rows, N, K, A, { ptr: pb, rs: N, cs: 1 }, pbp, cAt, ldc, acc);
  }
  return Float32Array.from(f32().subarray(pc / 4, pc / 4 + M * ldc));
};

/** The floats of C where gemmRows differs from its promise (any NaN matches any NaN: x64 and JavaScript make different ones). */
const differences = (c: Case): number[] => {
  const { M, N, K, pad, seed, specials } = c;
  const a = values(aFloats(c), seed, specials);
  const b = values(K * N, seed + 1, specials);
  // C's rows [m0, M) hold values to add to with acc; every other float is SENTINEL and must stay so
  const c0 = Float32Array.from({ length: M * (N + pad) }, (_, f) => (c.acc && f % (N + pad) < N && f >= c.m0 * (N + pad) ? ((f % 29) - 14) / 8 : SENTINEL));
  const [got, want] = [computed(c, a, b, c0), promised(c, a, b, c0)];
  const gotBits = new Int32Array(got.buffer);
  const wantBits = new Int32Array(want.buffer);
  const wrong: number[] = [];
  for (let f = 0; f < got.length; f++) {
    const bothNaN = Number.isNaN(got[f]) && Number.isNaN(want[f]) && wantBits[f] !== SENTINEL_BITS && gotBits[f] !== SENTINEL_BITS;
    if (gotBits[f] !== wantBits[f] && !bothNaN) wrong.push(f);
  }
  return wrong;
};

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    layout: fc.constantFrom<Layout>('row-major', 'transposed', 'indexed'),
    M: fc.integer({ min: 1, max: 47 }),
    N: fc.integer({ min: 1, max: 41 }),
    K: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 530 })),
    m0: fc.nat(9),
    pad: fc.constantFrom(0, 3, 8),
    acc: fc.boolean(),
    seed: fc.nat(1000),
    specials: fc.boolean(),
  })
  .map((c) => ({ ...c, m0: Math.min(c.m0, c.M - 1), acc: c.acc && c.layout !== 'indexed' }));

describe('gemmRows gives the sums it promises, bit for bit', () => {
  it('A row-major, transposed or indexed; M 1..47 from row m0 0..9, N 1..41, K 1..40 or 250..530 (one to three blocks of 256), rows of C 0, 3 or 8 floats wider than N, adding to C or not, ±0, subnormals, large, NaN, Infinity; nothing written outside C\'s rows and columns', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(differences(c)).toEqual([]);
      }),
      { seed: 14, numRuns: 200 },
    );
  });

  // more than 128 rows: the tiles of a call cross the kernel's 128-row blocks, and the last block ends inside a tile
  for (const layout of ['row-major', 'transposed', 'indexed'] as const) {
    it(`${layout} A, M 263 from row 2, N 27, K 517 (three blocks of 256), rows of C 3 floats wider`, () => {
      expect(differences({ layout, M: 263, N: 27, K: 517, m0: 2, pad: 3, acc: layout !== 'indexed', seed: 3, specials: false })).toEqual([]);
    });
  }

  // the presets' filter-gradient and input-gradient shapes, scaled down in K: Kc x FN (A indexed), R x Kc (A row-major)
  for (const [layout, M, N, K] of [['indexed', 144, 32, 700], ['indexed', 9, 16, 900], ['indexed', 90, 20, 300], ['row-major', 490, 288, 64], ['transposed', 100, 100, 100]] as const) {
    it(`${layout} A [${M}, ${K}] x B [${K}, ${N}]`, () => {
      expect(differences({ layout, M, N, K, m0: 0, pad: 0, acc: false, seed: 8, specials: false })).toEqual([]);
    });
  }

  // big enough to be split across the threads (PARALLEL_MIN_MACS), in chunks of rows that start inside the 128-row blocks
  for (const layout of ['row-major', 'transposed', 'indexed'] as const) {
    it(`${layout} A [301, 333] x B [333, 45] at 2 threads, a worker taking chunks of rows`, () => {
      const c: Case = { layout, M: 301, N: 45, K: 333, m0: 0, pad: 0, acc: false, seed: 11, specials: true };
      untilAWorkerTakesPart(() => expect(differences(c)).toEqual([]));
    });
  }
});
