import type { ReadonlyData } from '../dtype.js';
import { type ChunkJob, getThreads, rowsJob, runChunkJob, runRows } from './threads.js';
import { keptArea, residentAt, workspace } from './layout.js';
import { f32, wasm } from './wasm.js';

/*
 * The GEMM driver over wasm/gemm.wat. Operands live in the shared WebAssembly memory (layout.ts): in a workspace laid out
 * per call, or, when another kernel left them there, read in place (residentAt). The packed B of the last `gemm` is
 * kept (packedB).
 */

/** B's micro-panel width in wasm/gemm.wat: the packed B is padded to a multiple of it. @example padN(30) === 4 * NR */
export const NR = 8;

/** `n` rounded up to whole micro-panels. @example padN(25) // 32 */
export const padN = (n: number): number => Math.ceil(n / NR) * NR;

interface KeptB {
  /**
   * The operand's buffer view: tensors are never written after creation, so the same view means the same values.
   * Held strongly: one weight buffer kept alive until the next miss. (A WeakRef would not do: V8 keeps every
   * WeakRef target alive until the current job ends, and a synchronous training loop is one job, so each step's
   * weights would pile up.)
   */
  readonly data: ReadonlyData;
  readonly transB: boolean;
  readonly K: number;
  readonly N: number;
}
let kept: KeptB | undefined;

/**
 * A row-major A is transposed for the kernel (see gemm) from this many rows (a tile has four) and this many columns of
 * B: the kernel reads A once per panel of B and gains ~8% on each read, so the pass (a read and a write of A) pays
 * off from about 32 panels. (affine1's input gradient, N = 4320: 1.05x; its forward, N = 100: 0.96x.)
 */
const TRANSPOSE_A_MIN_M = 8;
const TRANSPOSE_A_MIN_N = 32 * NR;

/** Below this many floats a B is packed per call (packing it costs less than the bookkeeping saves). */
const KEEP_MIN_FLOATS = 1 << 15;

/**
 * The packed form of B [K, N] (B = op(b)) for `gemm`: in the kept region, packed there only when it does not
 * already hold this very buffer packed the same way. Evaluation multiplies every batch by the same weights,
 * so their copy into the memory and their packing then happen once per evaluation instead of once per batch.
 * Returns the byte offset of the packed panels.
 */
const packedB = (b: ReadonlyData, K: number, N: number, transB: boolean): number => {
  const { offset, moved } = keptArea('packedB', K * padN(N) * 4);
  const hit = !moved && kept !== undefined && kept.transB === transB && kept.K === K && kept.N === N && kept.data === b;
  if (!hit) {
    const pb = operand(b);
    wasm.packB(pb, transB ? 1 : N, transB ? K : 1, K, N, offset);
    kept = { data: b, transB, K, N };
  }
  return offset;
};

/** Where an operand's values are: in place when resident, else copied into the workspace (which it lays out). */
const operand = (data: ReadonlyData): number => {
  const at = residentAt(data);
  if (at !== undefined) return at;
  const [p] = workspace([data.length]);
  f32().set(data, p / 4);
  return p;
};

/**
 * An operand already in the shared memory: element (i, j) at byte `ptr + 4*(i*rs + j*cs)`.
 *
 * @example { ptr: pa, rs: K, cs: 1 } // row-major [M, K];  { ptr: pa, rs: 1, cs: M } // the transpose of a row-major [K, M]
 */
export interface Strided {
  readonly ptr: number;
  readonly rs: number;
  readonly cs: number;
}

/**
 * C[M, N] (+)= A[M, K] x B[K, N] on the shared memory, C's rows `ldc` >= N floats apart, split over
 * `threads` threads. `bp` is scratch for the packed B (K * padN(N) floats).
 *
 * @example
 * gemmStrided(M, N, K, { ptr: pa, rs: K, cs: 1 }, { ptr: pb, rs: N, cs: 1 }, pbp, pc, N, false);
 */
export const gemmStrided = (M: number, N: number, K: number, A: Strided, B: Strided, bp: number, c: number, ldc: number, acc: boolean, threads: number = getThreads()): void => {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!acc) for (let i = 0; i < M; i++) f32().fill(0, c / 4 + i * ldc, c / 4 + i * ldc + N);
    return;
  }
  wasm.packB(B.ptr, B.rs, B.cs, K, N, bp);
  runRows({ M, N, K, a: A.ptr, rsA: A.rs, csA: A.cs, bp, c, ldc, acc: acc ? 1 : 0 }, threads);
};

/**
 * As `gemmStrided`, for a B the caller has already written in packed panels at `bp`:
 * B[k, j] at float `bp/4 + ((j >> 3) * K + k) * 8 + (j & 7)` (lanes past N are ignored).
 *
 * @example
 * gemmPacked(Kc, FN, R, { ptr: pcol, rs: 1, cs: Kc }, pbp, pdwt, FN, false); // dWᵀ = colᵀ . dRows
 */
export const gemmPacked = (M: number, N: number, K: number, A: Strided, bp: number, c: number, ldc: number, acc: boolean, threads: number = getThreads()): void => {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!acc) for (let i = 0; i < M; i++) f32().fill(0, c / 4 + i * ldc, c / 4 + i * ldc + N);
    return;
  }
  runRows({ M, N, K, a: A.ptr, rsA: A.rs, csA: A.cs, bp, c, ldc, acc: acc ? 1 : 0 }, threads);
};

/**
 * As `gemmPacked`, with A indexed instead of strided: A[i, k] = f32 at byte `a + rowTab[i] + kTab[k]`, the tables
 * being i32 byte offsets at `rowTab` (M entries) and `kTab` (K entries). A convolution's im2col matrix is read this
 * way straight from the image (see implicitIm2col in kernels.ts), and its transpose by swapping the tables.
 *
 * @example
 * gemmIndexed(Kc, FN, R, pxp, pk, prow, pbp, pdwt, FN); // dWᵀ = colᵀ . dRows without building col
 */
export const gemmIndexed = (M: number, N: number, K: number, a: number, rowTab: number, kTab: number, bp: number, c: number, ldc: number, threads: number = getThreads()): void => {
  if (M === 0 || N === 0 || K === 0) return;
  runChunkJob(gemmIndexedJob(M, N, K, a, rowTab, kTab, bp, c, ldc), threads);
};

/** gemmIndexed's job (M, N and K at least 1), for a caller that runs it together with another (threads.ts's runTogether). */
export const gemmIndexedJob = (M: number, N: number, K: number, a: number, rowTab: number, kTab: number, bp: number, c: number, ldc: number): ChunkJob =>
  rowsJob({ M, N, K, a, rsA: 0, csA: 0, bp, c, ldc, acc: 0, rowTab, kTab });

/**
 * op(A)[M, K] x op(B)[K, N] -> [M, N] row-major at byte offset `pc` of the shared memory (a result slot, claimed before
 * this lays out its workspace: see layout.ts's resultSlot), for float32 buffers read where they are resident or copied in.
 *
 * @example
 * const out = resultSlot(M * N, [a, b]); gemm(a, b, M, N, K, false, false, out.offset); resultOut(out, M * N);
 */
export const gemm = (a: ReadonlyData, b: ReadonlyData, M: number, N: number, K: number, transA: boolean, transB: boolean, pc: number, threads: number = getThreads()): void => {
  if (K * N >= KEEP_MIN_FLOATS && M > 0 && N > 0 && K > 0) {
    const bp = packedB(b, K, N, transB);
    // A in place when resident (a fused layer's pooled output), else copied into the workspace's first region
    const pa = operand(a);
    const byRows = !transA && M >= TRANSPOSE_A_MIN_M && N >= TRANSPOSE_A_MIN_N;
    const [, pt = 0] = workspace([M * K, byRows ? M * K : 0]);
    // the kernel reads a tile's four rows of A fastest side by side, as a transposed A is stored: a row-major A is
    // transposed first (one pass over A, which the kernel then reads once per panel of B)
    if (byRows) wasm.transpose(pa, M, K, pt);
    const A = transA ? { ptr: pa, rs: 1, cs: M } : byRows ? { ptr: pt, rs: 1, cs: M } : { ptr: pa, rs: K, cs: 1 };
    gemmPacked(M, N, K, A, bp, pc, N, false, threads);
    return;
  }
  const [pa, pb, pbp] = workspace([M * K, K * N, K * padN(N)]);
  const mem = f32();
  mem.set(a, pa / 4);
  mem.set(b, pb / 4);
  gemmStrided(
    M, N, K,
    { ptr: pa, rs: transA ? 1 : K, cs: transA ? M : 1 },
    { ptr: pb, rs: transB ? 1 : N, cs: transB ? K : 1 },
    pbp, pc, N, false, threads,
  );
};
