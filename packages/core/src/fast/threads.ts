import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FoldnetError } from '../errors.js';
import { gemmModule, memory, wasm } from './wasm.js';

/*
 * Worker threads for the fast kernels. Every thread (this one and n-1 workers) instantiates gemm.wat on
 * the same shared WebAssembly memory, so a GEMM is split without copying: the caller packs B once, then
 * all threads claim chunks of C's rows from a shared counter and run `gemmRows` on them.
 *
 * Synchronisation lives in one Int32Array over a SharedArrayBuffer (`ctl`). A job is published by writing
 * its parameters, then CLAIM = tag << 16 | 0 (tag = job number mod 2^15), DONE = 0, and bumping SEQ.
 * A thread claims chunk i by compare-exchanging CLAIM from tag << 16 | i to tag << 16 | i+1, so a worker
 * that wakes late, after its job ended, sees another tag and claims nothing: it cannot run a chunk twice or
 * with the wrong parameters. The caller claims chunks too, so a GEMM finishes even if no worker ever gets
 * a core (this machine is shared); it then waits until DONE counts every chunk.
 *
 * Workers run plain JavaScript passed as a string (`eval: true`): Node 20 cannot start a worker from a
 * .ts file, and the string works the same from sources and from dist. They are unref'd, so they never keep
 * the process alive, and they allocate nothing per job, so memory stays flat however long training runs.
 */

const SEQ = 0;
const STOP = 1;
const CLAIM = 2;
const DONE = 3;
const ERROR = 4;
const NCHUNKS = 5;
const CHUNK = 6;
const READY = 7; // workers that have instantiated the module
const WORKER_CHUNKS = 8; // chunks run by workers since the pool started
// gemmRows' arguments after its row range: M, N, K, a, rsA, csA, bp, c, ldc, acc
const ARGS = 9;
const SLOTS = ARGS + 10;

const workerSource = `
const { workerData } = require('node:worker_threads');
const ctl = new Int32Array(workerData.control);
const ex = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  if (Atomics.load(ctl, ${STOP}) !== 0) break;
  const tag = (seen & 0x7fff) << 16;
  const n = ctl[${NCHUNKS}], chunk = ctl[${CHUNK}];
  const M = ctl[${ARGS}], N = ctl[${ARGS + 1}], K = ctl[${ARGS + 2}], a = ctl[${ARGS + 3}], rsA = ctl[${ARGS + 4}];
  const csA = ctl[${ARGS + 5}], bp = ctl[${ARGS + 6}], c = ctl[${ARGS + 7}], ldc = ctl[${ARGS + 8}], acc = ctl[${ARGS + 9}];
  for (;;) {
    const w = Atomics.load(ctl, ${CLAIM});
    if ((w & 0x7fff0000) !== tag || (w & 0xffff) >= n) break;
    if (Atomics.compareExchange(ctl, ${CLAIM}, w, w + 1) !== w) continue;
    const m0 = (w & 0xffff) * chunk;
    try {
      ex.gemmRows(m0, Math.min(M, m0 + chunk), N, K, a, rsA, csA, bp, c, ldc, acc);
    } catch (e) {
      Atomics.store(ctl, ${ERROR}, 1);
    }
    Atomics.add(ctl, ${WORKER_CHUNKS}, 1);
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

interface Pool {
  readonly ctl: Int32Array;
  readonly workers: readonly Worker[];
  seq: number;
}

let threads = Math.max(1, availableParallelism());
let pool: Pool | undefined;

const stopPool = (p: Pool): void => {
  Atomics.store(p.ctl, STOP, 1);
  Atomics.add(p.ctl, SEQ, 1);
  Atomics.notify(p.ctl, SEQ);
};

const startPool = (workers: number): Pool => {
  const control = new SharedArrayBuffer(SLOTS * 4);
  const ws = Array.from({ length: workers }, () => {
    const w = new Worker(workerSource, { eval: true, workerData: { control, module: gemmModule, memory } });
    w.unref();
    return w;
  });
  return { ctl: new Int32Array(control), workers: ws, seq: 0 };
};

/**
 * Sets how many threads the fast kernels use (this one plus n-1 workers); 1 runs everything on the
 * calling thread. The default is the number of cores, `os.availableParallelism()`.
 *
 * @example
 * setThreads(1); // single-threaded, e.g. to time one core
 */
export const setThreads = (n: number): void => {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new FoldnetError('value', `setThreads: thread count must be an integer in 1..256, got ${n}`);
  threads = n;
  if (pool && pool.workers.length !== n - 1) {
    stopPool(pool);
    pool = undefined;
  }
};

/** The number of threads the fast kernels use. @example getThreads() // 2 on a 2-core machine */
export const getThreads = (): number => threads;

const ensurePool = (nThreads: number): Pool => {
  if (!pool || pool.workers.length !== nThreads - 1) {
    if (pool) stopPool(pool);
    pool = startPool(nThreads - 1);
  }
  return pool;
};

/**
 * Starts the worker threads now (they otherwise start at the first GEMM big enough to split) and waits up
 * to `timeoutMs` until each has compiled its instance; returns how many are ready. A GEMM never waits for
 * workers (the calling thread takes every chunk no worker claims), so this only makes the first splits
 * and benchmarks representative.
 *
 * @example
 * setThreads(2); startThreads(); // 1 (one worker besides this thread)
 */
export const startThreads = (timeoutMs = 5000): number => {
  if (threads <= 1) return 0;
  const { ctl, workers } = ensurePool(threads);
  const until = performance.now() + timeoutMs;
  for (let r = Atomics.load(ctl, READY); r < workers.length; r = Atomics.load(ctl, READY)) {
    const left = until - performance.now();
    if (left <= 0) break;
    Atomics.wait(ctl, READY, r, left);
  }
  return Atomics.load(ctl, READY);
};

/** What the worker threads have done, for benchmarks and tests that must know a split really happened. */
export interface ThreadStats {
  /** Threads in use (this one included). */
  readonly threads: number;
  /** Workers started and ready. */
  readonly readyWorkers: number;
  /** GEMM row chunks the workers (not this thread) have run since they started. */
  readonly workerChunks: number;
}

/** @example setThreads(2); startThreads(); matmul(a, b); threadStats().workerChunks // > 0 when a worker got a core */
export const threadStats = (): ThreadStats => ({
  threads,
  readyWorkers: pool ? Atomics.load(pool.ctl, READY) : 0,
  workerChunks: pool ? Atomics.load(pool.ctl, WORKER_CHUNKS) : 0,
});

/**
 * Arguments of one `gemmRows` job over rows [0, M) (pointers are byte offsets into the shared memory).
 *
 * @example { M: 100, N: 100, K: 4320, a: pa, rsA: 4320, csA: 1, bp: pbp, c: pc, ldc: 100, acc: 0 }
 */
export interface RowsJob {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: number;
  readonly rsA: number;
  readonly csA: number;
  readonly bp: number;
  readonly c: number;
  readonly ldc: number;
  readonly acc: number;
}

/**
 * Below this many multiply-adds (about 0.3 ms on one core) a GEMM runs on the calling thread: waking a worker
 * (a futex wake and a context switch, tens of microseconds) would eat the gain. @example M * N * K < PARALLEL_MIN_MACS
 */
export const PARALLEL_MIN_MACS = 1 << 22;

/**
 * Runs `gemmRows` over rows [0, M), split across the threads when there are several and the GEMM is big
 * enough; B must already be packed at `job.bp`.
 *
 * @example
 * wasm.packB(pb, N, 1, K, N, pbp); runRows({ M, N, K, a: pa, rsA: K, csA: 1, bp: pbp, c: pc, ldc: N, acc: 0 });
 */
export const runRows = (job: RowsJob, nThreads: number = threads): void => {
  const { M, N, K, a, rsA, csA, bp, c, ldc, acc } = job;
  if (nThreads <= 1 || M < 8 || M * N * K < PARALLEL_MIN_MACS) {
    wasm.gemmRows(0, M, N, K, a, rsA, csA, bp, c, ldc, acc);
    return;
  }
  const p = ensurePool(nThreads);
  const ctl = p.ctl;
  // about three chunks per thread, whole micro-tiles of 4 rows, so a slow thread delays little
  const chunk = Math.max(4, Math.ceil(M / (nThreads * 3) / 4) * 4, Math.ceil(M / 0xffff));
  const n = Math.ceil(M / chunk);
  p.seq = (p.seq + 1) & 0x3fffffff;
  const tag = (p.seq & 0x7fff) << 16;
  ctl[NCHUNKS] = n;
  ctl[CHUNK] = chunk;
  const args = [M, N, K, a, rsA, csA, bp, c, ldc, acc];
  for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i];
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, ERROR, 0);
  Atomics.store(ctl, CLAIM, tag);
  Atomics.store(ctl, SEQ, p.seq);
  Atomics.notify(ctl, SEQ);
  for (;;) {
    const w = Atomics.load(ctl, CLAIM);
    if ((w & 0xffff) >= n) break;
    if (Atomics.compareExchange(ctl, CLAIM, w, w + 1) !== w) continue;
    const m0 = (w & 0xffff) * chunk;
    wasm.gemmRows(m0, Math.min(M, m0 + chunk), N, K, a, rsA, csA, bp, c, ldc, acc);
    Atomics.add(ctl, DONE, 1);
  }
  for (let d = Atomics.load(ctl, DONE); d < n; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
  if (Atomics.load(ctl, ERROR) !== 0) throw new FoldnetError('value', `matmul: a worker thread failed on a ${M}x${K} by ${K}x${N} GEMM`);
};
