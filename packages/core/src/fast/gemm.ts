import type { ReadonlyData } from '../dtype.js';
import { getThreads, runRows } from './threads.js';
import { ensureBytes, f32, wasm } from './wasm.js';

/*
 * The GEMM driver over gemm.wat. Operands live in the shared WebAssembly memory, laid out per call in a
 * workspace that is reused (the memory only grows to the largest call seen, so it stays flat over a run).
 */

/** B's micro-panel width in gemm.wat: C's rows are padded to a multiple of it. */
export const NR = 8;

/** `n` rounded up to whole micro-panels. */
export const padN = (n: number): number => Math.ceil(n / NR) * NR;

/**
 * Lays out regions of the given float counts in the shared memory (64-byte aligned, after a 64-byte
 * null guard) and returns their byte offsets. Every call reuses the same space: offsets are valid until
 * the next call.
 */
export const workspace = (floats: readonly number[]): number[] => {
  const offsets: number[] = [];
  let at = 64;
  for (const n of floats) {
    offsets.push(at);
    at += Math.ceil((n * 4) / 64) * 64 + 64;
  }
  ensureBytes(at);
  return offsets;
};

/** An operand already in the shared memory: element (i, j) at byte `ptr + 4*(i*rs + j*cs)`. */
export interface Strided {
  readonly ptr: number;
  readonly rs: number;
  readonly cs: number;
}

/**
 * C[M, ldc] (+)= A[M, K] x B[K, N] on the shared memory, split over `threads` threads. `bp` is scratch
 * for the packed B (K * padN(N) floats); C's columns N..padN(N) receive scratch values.
 */
export const gemmStrided = (M: number, N: number, K: number, A: Strided, B: Strided, bp: number, c: number, ldc: number, acc: boolean, threads: number = getThreads()): void => {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!acc) f32().fill(0, c / 4, c / 4 + M * ldc);
    return;
  }
  wasm.packB(B.ptr, B.rs, B.cs, K, N, bp);
  runRows({ M, N, K, a: A.ptr, rsA: A.rs, csA: A.cs, bp, c, ldc, acc: acc ? 1 : 0 }, threads);
};

/**
 * op(A)[M, K] x op(B)[K, N] -> a fresh [M, N] row-major Float32Array, for float32 buffers outside the
 * shared memory (copied in, C copied out without its padding).
 *
 * @example
 * gemm(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2, false, false); // Float32Array [11]
 */
export const gemm = (a: ReadonlyData, b: ReadonlyData, M: number, N: number, K: number, transA: boolean, transB: boolean, threads: number = getThreads()): Float32Array => {
  const Np = padN(N);
  const [pa, pb, pbp, pc] = workspace([M * K, K * N, K * Np, M * Np]);
  const mem = f32();
  mem.set(a, pa / 4);
  mem.set(b, pb / 4);
  gemmStrided(
    M, N, K,
    { ptr: pa, rs: transA ? 1 : K, cs: transA ? M : 1 },
    { ptr: pb, rs: transB ? 1 : N, cs: transB ? K : 1 },
    pbp, pc, Np, false, threads,
  );
  const c0 = pc / 4;
  if (Np === N) return mem.slice(c0, c0 + M * N);
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    const src = c0 + i * Np;
    const dst = i * N;
    for (let j = 0; j < N; j++) out[dst + j] = mem[src + j];
  }
  return out;
};
