import { platform } from '#platform';
import { FoldnetError } from '../errors.js';
import { kernelModule, memory, wasm } from './wasm.js';

/*
 * Worker threads for the fast kernels. Every thread (this one and n-1 workers) instantiates the kernels module on
 * the same shared WebAssembly memory, so work is split without copying: the caller prepares the shared
 * operands once (e.g. packs B), then all threads claim chunks of the work items from a shared counter and
 * run one export of the module on them. The exports that can be split take their item range first:
 * `gemmRows` (rows of C), `convImages` (images of a batch: the convolution, direct or a GEMM, bias, pooling),
 * `im2col` (rows), `col2im` (images), `adam` (elements), `unpoolPackDy` (images), `poolFilterGrad` (filters),
 * `winogradTiles` (groups of output tiles), the batch norm passes `bnForward`, `bnBackward` (channels),
 * `addElements` (elements), `winogradDwTiles` (shares of a filter gradient's tiles, or ranges of a share's filters),
 * `stride2Dx` (images: a stride-2 convolution's input gradient), `winogradDwFilters` (filter-channel pairs of a filter
 * gradient by Winograd),
 * `winogradFilterTransform` (input channels of Winograd's transformed filters), `reluElements`, `reluBackwardElements`
 * (elements), `maxPool2x2Planes`, `unpoolReluPlanes` (planes: the lesson's pool and its ReLU pullback),
 * `packDyImageRange` (images: dy packed for the filter gradient) and `gemmCol2imImages` (images: a convolution's input
 * gradient by a GEMM and col2im).
 *
 * Synchronisation lives in one Int32Array over a SharedArrayBuffer (`ctl`). A job of n units is published by
 * writing its parameters, DONE = 0, then CLAIM = tag << 16 | n (tag = job number mod 2^15, n < 2^16 units still
 * unclaimed), and bumping SEQ. A thread claims the c units from n - r on (c = claimUnits(r), from r and the pool's
 * constant thread count alone) by compare-exchanging CLAIM from tag << 16 | r to tag << 16 | r-c (r > 0), and only
 * then reads the job's parameters: the job cannot end, nor its parameters change, before those units are counted in
 * DONE. So the bound check needs no parameter that could be stale: a worker that
 * wakes late, after its job ended, finds CLAIM at 0 remaining or under another tag and claims nothing, and even one
 * whose tag came round again (2^15 jobs later) claims units of the current job with the current parameters. (Reading
 * n before claiming, as an earlier form did, let such a worker mix two jobs' parameters and count a chunk twice.) The
 * caller claims chunks too, so a GEMM finishes even if no worker ever gets a core (this machine is shared); it then
 * waits until DONE counts every unit.
 *
 * A worker runs `workerMain`, plain JavaScript in a string the platform starts as a thread (platform.ts: a Node
 * worker_threads Worker, or a browser's Web Worker): it works the same from sources and from dist, and on both. Workers
 * never keep the program alive, and they allocate nothing per job, so memory stays flat however long training runs.
 * Where the platform cannot share memory with workers or block (a page that is not cross-origin isolated, a page's
 * main thread), the kernels run on one thread and say so once.
 */

const SEQ = 0;
const STOP = 1;
const CLAIM = 2;
const DONE = 3;
const ERROR = 4;
const NCHUNKS = 5;
const CHUNK = 6;
const READY = 7; // workers that have instantiated the module
const WORKER_CHUNKS = 8; // claims run by workers since the pool started
const FUNC = 9; // which export the job runs (an index into CHUNKED)
const TOTAL = 10; // work items of the job
// the export's arguments after its item range (convImages takes the most: 21)
const ARGS = 11;
const MAX_ARGS = 21;
const THREADS = ARGS + MAX_ARGS; // threads of the pool (this one and the workers), written once when it starts
const SLOTS = THREADS + 1;

/** The exports of the kernels module that threads can split; each takes its item range [i0, i1) first. */
const CHUNKED = [
  'gemmRows', 'convImages', 'im2col', 'col2im', 'adam', 'unpoolPackDy', 'poolFilterGrad', 'winogradTiles', 'bnForward', 'bnBackward', 'addElements',
  'winogradDwTiles', 'padPlanes', 'stride2Dx', 'winogradDwFilters', 'winogradFilterTransform', 'reluElements', 'reluBackwardElements',
  'maxPool2x2Planes', 'unpoolReluPlanes', 'packDyImageRange', 'gemmCol2imImages', 'globalAvgPoolPlanes', 'globalAvgPoolBackwardPlanes',
] as const;
/** One of the splittable exports. @example runChunks('im2col', R, 1, args, true) */
export type ChunkedExport = (typeof CHUNKED)[number];

/**
 * How long (ms) a thread that ran out of work keeps reading the word it waits on before it blocks in Atomics.wait: a
 * training step often publishes its next job within tens of microseconds (one kernel's passes, the next layer's), and a
 * worker still spinning takes it at once, where one asleep costs a futex wake-up and a context switch (12-20 µs measured
 * here for a job of two tiny chunks, ~2 µs with the worker spinning; on the worker's side and on the caller's, which
 * waits for the last chunk the same way). Short enough that a worker left idle (between steps, while this thread copies
 * results out) gives its core back soon. Timed by the clock, not by a count of loads (16384 loads took ~0.2 ms here).
 */
const SPIN_MS = 0.05;

/**
 * Guided claims: a job is cut into units UNITS_PER_CHUNK times finer than its chunks (CHUNKS_PER_THREAD), and a thread
 * claims a chunk's worth of units while many are left, then fewer, down to one: the caller, which waits for the last
 * claim, waits for a quarter of a chunk at most where it waited for a whole one. gemmRows keeps whole chunks (its units
 * are chunks, and with 3 a thread no claim takes two): each of its claims streams the whole packed B through the cache.
 */
const UNITS_PER_CHUNK = 4;
/**
 * Units a thread claims when r are left, of `threads`: a share of half the rest, at least one, at most a chunk's (4,
 * UNITS_PER_CHUNK written out: the workers run this function's source text, which must name nothing outside it, even
 * minified).
 */
const claimUnits = (r: number, threads: number): number => Math.min(4, Math.max(1, Math.floor(r / (2 * threads))));
if (claimUnits(1 << 15, 1) !== UNITS_PER_CHUNK) throw new Error('threads.ts: claimUnits and UNITS_PER_CHUNK disagree');

// (workerData: ThreadData) => void, as source text
const workerMain = `(workerData) => {
const ctl = new Int32Array(workerData.control);
const threads = ctl[${THREADS}];
const claimUnits = ${claimUnits.toString()};
const ex = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
const fns = ${JSON.stringify(CHUNKED)}.map((name) => ex[name]);
const call = new Array(${2 + MAX_ARGS}).fill(0);
Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  for (const until = performance.now() + ${SPIN_MS}; Atomics.load(ctl, ${SEQ}) === seen && performance.now() < until; );
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  if (Atomics.load(ctl, ${STOP}) !== 0) break;
  const tag = (seen & 0x7fff) << 16;
  for (;;) {
    const w = Atomics.load(ctl, ${CLAIM});
    const r = w & 0xffff;
    if ((w & 0x7fff0000) !== tag || r === 0) break;
    const c = claimUnits(r, threads);
    if (Atomics.compareExchange(ctl, ${CLAIM}, w, w - c) !== w) continue;
    // the units are ours: the job's parameters stay until they are counted done
    const n = ctl[${NCHUNKS}], unit = ctl[${CHUNK}], total = ctl[${TOTAL}], fn = fns[ctl[${FUNC}]];
    for (let i = 0; i < ${MAX_ARGS}; i++) call[2 + i] = ctl[${ARGS} + i];
    call[0] = (n - r) * unit;
    call[1] = Math.min(total, call[0] + c * unit);
    try {
      fn.apply(undefined, call);
    } catch (e) {
      Atomics.store(ctl, ${ERROR}, 1);
    }
    Atomics.add(ctl, ${WORKER_CHUNKS}, 1);
    Atomics.add(ctl, ${DONE}, c);
    Atomics.notify(ctl, ${DONE});
  }
}
}`;

interface Pool {
  readonly ctl: Int32Array;
  /** How many workers were started (not all may be ready: see READY). */
  readonly workers: number;
  seq: number;
}

/** Why this platform keeps the kernels on one thread (once: it does not change while the program runs), or undefined. */
const singleThreadReason = platform.singleThreadReason();
let saidSingleThread = false;
/** Says once, when threads were asked for (or are the default), why there is one. */
const sayWhySingleThread = (): void => {
  if (singleThreadReason === undefined || saidSingleThread) return;
  saidSingleThread = true;
  platform.notice(`the fast kernels run on one thread: ${singleThreadReason}`);
};

let threads = Math.max(1, platform.cores());
if (singleThreadReason !== undefined) {
  if (threads > 1) sayWhySingleThread();
  threads = 1;
}
let pool: Pool | undefined;

const stopPool = (p: Pool): void => {
  Atomics.store(p.ctl, STOP, 1);
  Atomics.add(p.ctl, SEQ, 1);
  Atomics.notify(p.ctl, SEQ);
};

const startPool = (workers: number): Pool => {
  const control = new SharedArrayBuffer(SLOTS * 4);
  new Int32Array(control)[THREADS] = workers + 1;
  for (let i = 0; i < workers; i++) platform.startThread(workerMain, { control, module: kernelModule, memory });
  return { ctl: new Int32Array(control), workers, seq: 0 };
};

/**
 * Sets how many threads the fast kernels use (this one plus n-1 workers); 1 runs everything on the
 * calling thread. The default is the number of cores (`os.availableParallelism()`, `navigator.hardwareConcurrency`).
 * Where workers cannot share memory or this thread cannot block (a page that is not cross-origin isolated, a page's
 * main thread) it stays 1, and says why once. Going to 1 keeps the workers already started, idle (blocked, using no
 * CPU), so going back needs no new ones: in a browser a new worker comes up only once this thread returns to its event
 * loop. Another count above 1 replaces them at the next split.
 *
 * @example
 * setThreads(1); // single-threaded, e.g. to time one core
 */
export const setThreads = (n: number): void => {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new FoldnetError('value', `setThreads: thread count must be an integer in 1..256, got ${n}`);
  if (n > 1 && singleThreadReason !== undefined) {
    sayWhySingleThread();
    n = 1;
  }
  threads = n;
  if (pool && n > 1 && pool.workers !== n - 1) {
    stopPool(pool);
    pool = undefined;
  }
};

/** The number of threads the fast kernels use. @example getThreads() // 2 on a 2-core machine */
export const getThreads = (): number => threads;

const ensurePool = (nThreads: number): Pool => {
  if (!pool || pool.workers !== nThreads - 1) {
    if (pool) stopPool(pool);
    pool = startPool(nThreads - 1);
  }
  return pool;
};

/**
 * Starts the worker threads now (they otherwise start at the first GEMM big enough to split) and waits up
 * to `timeoutMs` until each has compiled its instance; returns how many are ready. A GEMM never waits for
 * workers (the calling thread takes every chunk no worker claims), so this only makes the first splits
 * and benchmarks representative. In a browser a worker starts only once this thread returns to its event loop, so
 * this cannot wait for them there: `await threadsReady()` instead.
 *
 * @example
 * setThreads(2); startThreads(); // 1 (one worker besides this thread)
 */
export const startThreads = (timeoutMs = 5000): number => {
  if (threads <= 1) return 0;
  const { ctl, workers } = ensurePool(threads);
  if (!platform.workersStartWhileBlocked) return Atomics.load(ctl, READY);
  const until = performance.now() + timeoutMs;
  for (let r = Atomics.load(ctl, READY); r < workers; r = Atomics.load(ctl, READY)) {
    const left = until - performance.now();
    if (left <= 0) break;
    Atomics.wait(ctl, READY, r, left);
  }
  return Atomics.load(ctl, READY);
};

/**
 * Starts the worker threads now and resolves, without blocking this thread, when each has compiled its instance or
 * `timeoutMs` has passed; gives how many are ready. The way to start threads in a browser, where a worker comes up only
 * once the thread that made it returns to its event loop.
 *
 * @example
 * setThreads(2); await threadsReady(); // 1 (one worker besides this thread)
 */
export const threadsReady = async (timeoutMs = 5000): Promise<number> => {
  if (threads <= 1) return 0;
  const { ctl, workers } = ensurePool(threads);
  const until = performance.now() + timeoutMs;
  for (let r = Atomics.load(ctl, READY); r < workers; r = Atomics.load(ctl, READY)) {
    const left = until - performance.now();
    if (left <= 0) break;
    // a poll, not Atomics.waitAsync: a pending waitAsync does not keep Node's event loop alive, a timer does
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, 5)));
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
  /** For an indexed A (see gemmIndexed): byte offsets of its row and k tables; absent = strided. */
  readonly rowTab?: number;
  readonly kTab?: number;
}

/**
 * Below this many multiply-adds (about 0.3 ms on one core) a GEMM runs on the calling thread: waking a worker
 * (a futex wake and a context switch, tens of microseconds) would eat the gain. @example M * N * K < PARALLEL_MIN_MACS
 */
export const PARALLEL_MIN_MACS = 1 << 22;

/**
 * How finely each export's work is cut: the caller waits for the last chunk, so finer chunks waste less when a
 * worker wakes late or the host takes a core away (this machine is shared), at the price of one atomic claim per
 * chunk. A GEMM's row chunks each stream the whole packed B through the cache, so they stay coarse; the other
 * exports' items (images, rows of col, elements) are independent. 8 against 3 per thread: evaluation ~4% faster
 * at 2 threads.
 */
const CHUNKS_PER_THREAD: Readonly<Record<ChunkedExport, number>> = {
  gemmRows: 3, convImages: 8, im2col: 8, col2im: 8, adam: 8, unpoolPackDy: 8, poolFilterGrad: 8, winogradTiles: 8, bnForward: 8, bnBackward: 8, addElements: 8, winogradDwTiles: 8, padPlanes: 8,
  stride2Dx: 8, winogradDwFilters: 8, winogradFilterTransform: 8, reluElements: 8, reluBackwardElements: 8, maxPool2x2Planes: 8, unpoolReluPlanes: 8,
  packDyImageRange: 8, gemmCol2imImages: 8, globalAvgPoolPlanes: 8, globalAvgPoolBackwardPlanes: 8,
};

/**
 * Runs the export `fn` of the kernels module over items [0, total) with the arguments `args` after the item range,
 * split across the threads in chunks (CHUNKS_PER_THREAD) of whole multiples of `align` items when there are several threads and
 * `worthSplitting` (the caller's judgement of the work against the cost of waking a worker).
 *
 * @example
 * runChunks('im2col', R, 1, [px, C, H, W, FH, FW, stride, pad, OH, OW, pcol], R * Kc >= 1 << 18);
 */
export const runChunks = (fn: ChunkedExport, total: number, align: number, args: readonly number[], worthSplitting: boolean, nThreads: number = threads): void => {
  if (total <= 0) return;
  if (nThreads <= 1 || !worthSplitting || total < 2 * align) {
    Reflect.apply(wasm[fn], undefined, [0, total, ...args]);
    return;
  }
  if (args.length > MAX_ARGS) throw new FoldnetError('value', `fast kernels: ${fn} takes ${args.length} arguments, the thread pool passes at most ${MAX_ARGS}`);
  const p = ensurePool(nThreads);
  const ctl = p.ctl;
  const units = fn === 'gemmRows' ? 1 : UNITS_PER_CHUNK;
  const unit = Math.max(align, Math.ceil(total / (nThreads * CHUNKS_PER_THREAD[fn] * units) / align) * align, Math.ceil(total / 0xffff));
  const n = Math.ceil(total / unit);
  p.seq = (p.seq + 1) & 0x3fffffff;
  const tag = (p.seq & 0x7fff) << 16;
  ctl[NCHUNKS] = n;
  ctl[CHUNK] = unit;
  ctl[TOTAL] = total;
  ctl[FUNC] = CHUNKED.indexOf(fn);
  for (let i = 0; i < MAX_ARGS; i++) ctl[ARGS + i] = args[i] ?? 0;
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, ERROR, 0);
  Atomics.store(ctl, CLAIM, tag | n);
  Atomics.store(ctl, SEQ, p.seq);
  Atomics.notify(ctl, SEQ);
  const run = wasm[fn] as (...a: number[]) => void;
  for (;;) {
    const w = Atomics.load(ctl, CLAIM);
    const r = w & 0xffff;
    if (r === 0) break;
    const c = claimUnits(r, nThreads);
    if (Atomics.compareExchange(ctl, CLAIM, w, w - c) !== w) continue;
    const i0 = (n - r) * unit;
    run(i0, Math.min(total, i0 + c * unit), ...args);
    Atomics.add(ctl, DONE, c);
  }
  for (const until = performance.now() + SPIN_MS; Atomics.load(ctl, DONE) < n && performance.now() < until; );
  for (let d = Atomics.load(ctl, DONE); d < n; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
  if (Atomics.load(ctl, ERROR) !== 0) throw new FoldnetError('value', `fast kernels: a worker thread failed in ${fn} over ${total} items`);
};

/**
 * Runs `gemmRows` over rows [0, M), split across the threads when there are several and the GEMM is big
 * enough; B must already be packed at `job.bp`.
 *
 * @example
 * wasm.packB(pb, N, 1, K, N, pbp); runRows({ M, N, K, a: pa, rsA: K, csA: 1, bp: pbp, c: pc, ldc: N, acc: 0 });
 */
export const runRows = (job: RowsJob, nThreads: number = threads): void => {
  const { M, N, K, a, rsA, csA, bp, c, ldc, acc, rowTab = 0, kTab = 0 } = job;
  // whole micro-tiles of 4 rows per chunk
  runChunks('gemmRows', M, 4, [N, K, a, rsA, csA, bp, c, ldc, acc, rowTab, kTab], M * N * K >= PARALLEL_MIN_MACS, nThreads);
};
