import { platform } from '#platform';
import { FoldnetError } from '../errors.js';
import { kernelModule, memory, wasm } from './wasm.js';

/*
 * Worker threads for the fast kernels. Every thread (this one and n-1 workers) instantiates the kernels module on
 * the same shared WebAssembly memory, so work is split without copying: the caller prepares the shared
 * operands once (e.g. packs B), then all threads claim chunks of the work items from a shared counter and
 * run one export of the module on them. The exports that can be split take their item range first:
 * `gemmRows` (rows of C), `convImages` (images of a batch: the convolution, direct or a GEMM, bias, pooling),
 * `im2col` (rows), `col2im` (images), `adamTensors` (elements of several tensors laid end to end), `unpoolPackDy` (images), `poolFilterGrad` (filters),
 * `winogradTiles` (groups of output tiles), the batch norm passes `bnForward`, `bnBackward` (channels),
 * `addElements` (elements), `winogradDwTiles` (shares of a filter gradient's tiles, or ranges of a share's filters),
 * `stride2Dx` (images: a stride-2 convolution's input gradient), `winogradDwFilters` (filter-channel pairs of a filter
 * gradient by Winograd),
 * `winogradFilterTransform` (input channels of Winograd's transformed filters), `reluElements`, `reluBackwardElements`
 * (elements), `maxPool2x2Planes`, `unpoolReluPlanes` (planes: the lesson's pool and its ReLU pullback),
 * `packDyImageRange` (images: dy packed for the filter gradient), `gemmCol2imImages` (images: a convolution's input
 * gradient by a GEMM and col2im), `globalAvgPoolPlanes` and `globalAvgPoolBackwardPlanes` (planes: global average
 * pooling and its pullback), `convPackedImages` (images: a convolution's forward by a GEMM over packed pixel panels),
 * `packedDxImages` (groups of four images: a convolution's input gradient by packed panels and a fold).
 *
 * Synchronisation lives in one Int32Array over a SharedArrayBuffer (`ctl`). A job of n units is published by
 * writing its parameters, DONE = 0, then CLAIM = tag << 16 | n (tag = job number mod 2^15, n < 2^16 units still
 * unclaimed), and bumping SEQ. A thread claims the c units from n - r on (c = claimUnits of the units left, from r, the
 * job's split into parts and the pool's constant thread count) by compare-exchanging CLAIM from tag << 16 | r to
 * tag << 16 | r-c (r > 0), and only then reads the job's parameters to run them: the job cannot end, nor its
 * parameters change, before those units are counted in DONE. So nothing read before the claim can make a thread run
 * the wrong units: a worker that wakes late, after its job ended, finds CLAIM at 0 remaining or under another tag and
 * claims nothing, and even one whose tag came round again (2^15 jobs later) runs units of the current job with the
 * current parameters (only how many it claims came from what it read before). (Reading n before claiming to run the
 * units, as an earlier form did, let such a worker mix two jobs' parameters and count a chunk twice.) The caller claims
 * units too, so a job finishes even if no worker ever gets a core (this machine is shared); it then waits until DONE
 * counts every unit.
 *
 * A worker's view of the memory: each thread sees the shared memory at the size its engine last told it, and this
 * thread grows it between jobs (layout.ts's areas and workspaces). V8 tells the other threads of a growth by an
 * interrupt, but only threads whose memory object it has registered: a worker that is still deserialising its
 * workerData when the memory grows (its SharedArrayBuffer already made at the old size, its memory object not yet
 * registered) misses it, and keeps the old size until the next growth, which an evaluation's later batches need not
 * make. Plain loads and stores past the old size still work (V8 checks those by guard pages), but atomics and bulk
 * memory operations check against the size the thread knows: such a worker traps "out of bounds" (winogradTiles' slot
 * claim, in every job it takes part in, for the rest of the process: models.e2e's intermittent failure, met by
 * scripts/stress-eval.mjs in 1 of 40 processes under heavy load; a larger workerData widens the window enough for
 * test/worker-memory-view.test.ts to meet it every time). Never a wrong value: a stale view only traps. So each job
 * carries the memory's size (MEMORY_BYTES), and a worker whose view is smaller renews it before running its units:
 * `memory.grow(0)` brings every view of the memory on its thread, its instance's bounds included, to the memory's size.
 *
 * A job has one or two parts (runChunks, runTogether): independent runs of exports, their units numbered one after
 * the other, so that threads done with the first part's few large units (a filter gradient's shares) go on with the
 * second's (the input gradient's tiles) instead of waiting for the last large one to end. A part's units are of one size
 * but for its tail: where its export takes a finer alignment at a cost (ChunkJob.tailAlign), its last units are smaller
 * (cutOf), and the workers map a unit to its items as this thread does (itemOf).
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
const READY = 5; // workers that have instantiated the module
const WORKER_CHUNKS = 6; // claims run by workers since the pool started
const THREADS = 7; // threads of the pool (this one and the workers), written once when it starts
const UNITS = 8; // units of the job, its parts' together
const FIRST_UNITS = 9; // units of its first part (the second part's are numbered after them)
const MEMORY_BYTES = 10; // the memory's size when the job was published (see "A worker's view of the memory" above)
const REFRESHED_VIEWS = 11; // how many times a worker found its view of the memory older than a job's, and renewed it
const TRACING = 12; // 1 while traceJobs records: the workers time their claims into the stats (below)
// each part of the job: the export it runs (an index into CHUNKED), the items a unit takes, the items in all, the item
// from which its units are its tail's and the items a tail unit takes (see cutOf), then the export's arguments after its
// item range (convImages and winogradTiles take the most: 21)
const PARTS = 13;
const FUNC = 0;
const UNIT = 1;
const TOTAL = 2;
const TAIL_FROM = 3;
const TAIL_UNIT = 4;
const ARGS = 5;
const MAX_ARGS = 21;
const PART_SLOTS = ARGS + MAX_ARGS;
const MAX_PARTS = 2;
// what a worker saw when a unit failed (ERROR), for the caller's message: the part (0 or 1), its items, the memory's size
// in bytes as the worker's thread saw it, then the exception's message, a character a slot
const FAILED = PARTS + MAX_PARTS * PART_SLOTS;
const FAILED_PART = 0;
const FAILED_I0 = 1;
const FAILED_I1 = 2;
const FAILED_MEMORY = 3;
const FAILED_LENGTH = 4;
const FAILED_TEXT = 5;
const MESSAGE_CHARS = 160;
const SLOTS = FAILED + FAILED_TEXT + MESSAGE_CHARS;
// measuring (traceJobs): after the control words, per worker three float64: its busy ms in the job, when it first claimed
// and when its last unit ended (ms since the epoch: the threads' clocks have origins of their own)
const STATS_AT = (SLOTS + 1) & ~1;
const MAX_WORKERS = 255;
const STAT_WORDS = 3;

/** The exports of the kernels module that threads can split; each takes its item range [i0, i1) first. */
const CHUNKED = [
  'gemmRows', 'convImages', 'im2col', 'col2im', 'adamTensors', 'unpoolPackDy', 'poolFilterGrad', 'winogradTiles', 'bnForward', 'bnBackward', 'addElements',
  'winogradDwTiles', 'padPlanes', 'stride2Dx', 'winogradDwFilters', 'winogradFilterTransform', 'reluElements', 'reluBackwardElements',
  'maxPool2x2Planes', 'unpoolReluPlanes', 'packDyImageRange', 'gemmCol2imImages', 'globalAvgPoolPlanes', 'globalAvgPoolBackwardPlanes', 'convPackedImages', 'packedDxImages',
] as const;
/** One of the splittable exports. @example runChunks('im2col', R, 1, args, true) */
export type ChunkedExport = (typeof CHUNKED)[number];

/**
 * How long (ms) this thread, waiting for the workers' last units of a job, keeps reading DONE before it blocks in
 * Atomics.wait: a worker's last unit usually ends within it, and a thread that blocked costs a futex wake-up and a
 * context switch to resume (12-20 µs measured here for a job of two tiny chunks, ~2 µs spinning). Timed by the clock,
 * not by a count of loads (16384 loads took ~0.2 ms here).
 */
const CALLER_SPIN_MS = 0.3;
/**
 * How long (ms) a worker that ran out of work keeps reading SEQ before it blocks: a training step publishes its next job
 * after tens to hundreds of microseconds of the calling thread's JavaScript (resnet's ~100 jobs a step have ~0.1 ms
 * between them on average), and a worker still spinning takes it at once, where one asleep is woken late and leaves the
 * job's first units to the calling thread. A worker's idle time is the calling thread's last units of a job and then the
 * gap: at 0.3 ms it slept before a step's first job, Adam's job and an evaluation batch's first (0.3-0.5 ms of JavaScript
 * each, after the calling thread's last units), and was woken late there. resnet at 2 threads under `chrt -r 10`, the
 * workers' first claims after publish summed: a step's 2.4 ms at 0.3, 1.0 at 0.6, 1.0 at 2 (one run each), 0.8-1.2
 * against 0.8 at 1 (two paired runs of 30 steps); an evaluation's 5 batches 2.4, 1.3, 0.7, and 1.5-1.7 against 0.6-0.8
 * at 1 (~0.5 is the measuring's own floor). 1 ms: a worker left idle (between steps, while the program does other work)
 * still gives its core back soon, and its spin takes only a core the calling thread is not using. With one thread there
 * are no workers: nothing spins.
 */
const WORKER_SPIN_MS = 1;

/**
 * Guided claims: a job is cut into units UNITS_PER_CHUNK times finer than its chunks (CHUNKS_PER_THREAD), and a thread
 * claims a chunk's worth of units while many are left, then fewer, down to one: the caller, which waits for the last
 * claim, waits for a quarter of a chunk at most where it waited for a whole one. gemmRows keeps whole chunks (its units
 * are chunks, and with 3 a thread no claim takes two): each of its claims streams the whole packed B through the cache.
 */
const UNITS_PER_CHUNK = 4;
/**
 * Units a thread claims when r are left, the last `later` of them in the job's second part, of `threads`: a share of
 * half the rest of the part the next unit is in, at least one, at most a chunk's (4, UNITS_PER_CHUNK written out: the
 * workers run this function's source text, which must name nothing outside it, even minified). A claim that reaches
 * past its part (possible only with a stale `later`) still runs each unit with its own part's parameters.
 */
const claimUnits = (r: number, later: number, threads: number): number => Math.min(4, Math.max(1, Math.floor((r > later ? r - later : r) / (2 * threads))));
if (claimUnits(1 << 15, 0, 1) !== UNITS_PER_CHUNK) throw new Error('threads.ts: claimUnits and UNITS_PER_CHUNK disagree');

/**
 * The first item of unit u of a part of `total` items cut in units of `unit` items up to item `tailFrom` (a multiple of
 * `unit`) and of `tailUnit` from there on (cutOf); `total` past its last unit. Run by the workers from its source text,
 * as claimUnits is.
 */
const itemOf = (u: number, unit: number, tailFrom: number, tailUnit: number, total: number): number =>
  Math.min(total, u * unit <= tailFrom ? u * unit : tailFrom + (u - tailFrom / unit) * tailUnit);

// (workerData: ThreadData) => void, as source text
const workerMain = `(workerData) => {
const ctl = new Int32Array(workerData.control);
const stats = new Float64Array(workerData.control, ${STATS_AT * 4});
const threads = ctl[${THREADS}];
const claimUnits = ${claimUnits.toString()};
const itemOf = ${itemOf.toString()};
const memory = workerData.memory;
const ex = new WebAssembly.Instance(workerData.module, { env: { memory } }).exports;
const fns = ${JSON.stringify(CHUNKED)}.map((name) => ex[name]);
const call = new Array(${2 + MAX_ARGS}).fill(0);
// units [u0, u1) of the part whose slots start at ctl[at]
const runPart = (at, u0, u1) => {
  const unit = ctl[at + ${UNIT}], total = ctl[at + ${TOTAL}], tailFrom = ctl[at + ${TAIL_FROM}], tailUnit = ctl[at + ${TAIL_UNIT}];
  for (let i = 0; i < ${MAX_ARGS}; i++) call[2 + i] = ctl[at + ${ARGS} + i];
  call[0] = itemOf(u0, unit, tailFrom, tailUnit, total);
  call[1] = itemOf(u1, unit, tailFrom, tailUnit, total);
  try {
    fns[ctl[at + ${FUNC}]].apply(undefined, call);
  } catch (e) {
    // which failure, by its message (the calling thread names it: see WORKER_FAILURES), and what it ran
    const m = String(e && e.message);
    if (Atomics.compareExchange(ctl, ${ERROR}, 0, m.includes('out of bounds') ? 2 : m.includes('unreachable') ? 3 : m.includes('call stack') ? 4 : 1) !== 0) return;
    ctl[${FAILED + FAILED_PART}] = (at - ${PARTS}) / ${PART_SLOTS};
    ctl[${FAILED + FAILED_I0}] = call[0];
    ctl[${FAILED + FAILED_I1}] = call[1];
    ctl[${FAILED + FAILED_MEMORY}] = memory.buffer.byteLength;
    const n = Math.min(m.length, ${MESSAGE_CHARS});
    for (let i = 0; i < n; i++) ctl[${FAILED + FAILED_TEXT} + i] = m.charCodeAt(i);
    ctl[${FAILED + FAILED_LENGTH}] = n;
  }
};
const me = Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  for (const until = performance.now() + ${WORKER_SPIN_MS}; Atomics.load(ctl, ${SEQ}) === seen && performance.now() < until; );
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  if (Atomics.load(ctl, ${STOP}) !== 0) break;
  const tag = (seen & 0x7fff) << 16;
  for (;;) {
    const w = Atomics.load(ctl, ${CLAIM});
    const r = w & 0xffff;
    if ((w & 0x7fff0000) !== tag || r === 0) break;
    const c = claimUnits(r, ctl[${UNITS}] - ctl[${FIRST_UNITS}], threads);
    if (Atomics.compareExchange(ctl, ${CLAIM}, w, w - c) !== w) continue;
    // the units are ours: the job's parameters stay until they are counted done
    if (memory.buffer.byteLength < ctl[${MEMORY_BYTES}]) {
      // this thread's view of the memory is older than the job's: renewed by a grow of none, which brings every view
      // this thread has (its instance's bounds included) up to the memory's size
      memory.grow(0);
      Atomics.add(ctl, ${REFRESHED_VIEWS}, 1);
    }
    const units = ctl[${UNITS}], first = ctl[${FIRST_UNITS}], u0 = units - r, u1 = u0 + c;
    const traced = ctl[${TRACING}] === 1;
    const t0 = traced ? performance.now() : 0;
    if (traced && stats[${STAT_WORDS} * me + 1] === 0) stats[${STAT_WORDS} * me + 1] = performance.timeOrigin + t0;
    if (u0 < first) runPart(${PARTS}, u0, Math.min(u1, first));
    if (u1 > first) runPart(${PARTS + PART_SLOTS}, Math.max(u0, first) - first, u1 - first);
    if (traced) {
      const t1 = performance.now();
      stats[${STAT_WORDS} * me] += t1 - t0;
      stats[${STAT_WORDS} * me + 2] = performance.timeOrigin + t1;
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
  const control = new SharedArrayBuffer(STATS_AT * 4 + MAX_WORKERS * 8 * STAT_WORDS);
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
  /** How many times a worker found its view of the memory older than a job's and renewed it, since the pool started. */
  readonly refreshedViews: number;
}

/** @example setThreads(2); startThreads(); matmul(a, b); threadStats().workerChunks // > 0 when a worker got a core */
export const threadStats = (): ThreadStats => ({
  threads,
  readyWorkers: pool ? Atomics.load(pool.ctl, READY) : 0,
  workerChunks: pool ? Atomics.load(pool.ctl, WORKER_CHUNKS) : 0,
  refreshedViews: pool ? Atomics.load(pool.ctl, REFRESHED_VIEWS) : 0,
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
 * Below this many multiply-adds (about 0.07 ms on one core) a GEMM or a convolution's pass runs on the calling thread:
 * waking a worker asleep (a futex wake and a context switch, 12-20 µs) would eat most of the gain. It was 2^22 (~0.3
 * ms) before the workers spun after each job (above): inside a step a worker is still spinning when the next job comes
 * and takes its share in ~2 µs. At 2^22 a batch of 32 left the stem and the 1x1 shortcuts of resnet on one thread while
 * the worker idled (~3.5 ms of a ~70 ms step at 2 threads); at 2^20, `compare-builds --threads 2 --data mnist` against
 * 2^22: resnet's step x1.06 at batch 32 (x1.03-1.09) and x1.15 at batch 8, deep's x1.10 at batch 32 (evaluation x1.09);
 * at batch 100 the presets' jobs split as before (the same jobs, the same bits). @example M * N * K < PARALLEL_MIN_MACS
 */
export const PARALLEL_MIN_MACS = 1 << 20;

/**
 * How finely each export's work is cut: the caller waits for the last chunk, so finer chunks waste less when a
 * worker wakes late or the host takes a core away (this machine is shared), at the price of one atomic claim per
 * chunk. A GEMM's row chunks each stream the whole packed B through the cache, so they stay coarse; the other
 * exports' items (images, rows of col, elements) are independent. 8 against 3 per thread: evaluation ~4% faster
 * at 2 threads.
 */
const CHUNKS_PER_THREAD: Readonly<Record<ChunkedExport, number>> = {
  gemmRows: 3, convImages: 8, im2col: 8, col2im: 8, adamTensors: 8, unpoolPackDy: 8, poolFilterGrad: 8, winogradTiles: 8, bnForward: 8, bnBackward: 8, addElements: 8, winogradDwTiles: 8, padPlanes: 8,
  stride2Dx: 8, winogradDwFilters: 8, winogradFilterTransform: 8, reluElements: 8, reluBackwardElements: 8, maxPool2x2Planes: 8, unpoolReluPlanes: 8,
  packDyImageRange: 8, gemmCol2imImages: 8, globalAvgPoolPlanes: 8, globalAvgPoolBackwardPlanes: 8, convPackedImages: 8, packedDxImages: 8,
};

/**
 * One export's run over items [0, total) with the arguments `args` after the item range, cut in units of whole
 * multiples of `align` items, split across the threads when `worthSplitting` (as runChunks takes them).
 *
 * @example { fn: 'im2col', total: R, align: 1, args: [px, C, H, W, FH, FW, stride, pad, OH, OW, pcol], worthSplitting: R * Kc >= 1 << 18 }
 */
export interface ChunkJob {
  readonly fn: ChunkedExport;
  readonly total: number;
  readonly align: number;
  readonly args: readonly number[];
  readonly worthSplitting: boolean;
  /**
   * A finer alignment the export also takes, at a cost a unit (a short block, a short group): split, the job's last
   * units (a unit's items a thread) are cut to it (cutOf), so that the threads end within one of those of each other.
   * For jobs whose `align` keeps units large: resnet's 14x14 -> 7x7 packed forward was 25 groups of 4 images, and the
   * thread that ended its last while the other ran the 25th idled a whole group (~0.25 ms).
   */
  readonly tailAlign?: number;
}

/** This thread's call of export `fn` over items [i0, i1) (its arguments spread into the call: no array is built for it). */
const callExport = (fn: ChunkedExport, i0: number, i1: number, args: readonly number[]): void => {
  const run: (...a: number[]) => void = wasm[fn];
  run(i0, i1, ...args);
};

/**
 * Runs the export `fn` of the kernels module over items [0, total) with the arguments `args` after the item range,
 * split across the threads in chunks (CHUNKS_PER_THREAD) of whole multiples of `align` items when there are several threads and
 * `worthSplitting` (the caller's judgement of the work against the cost of waking a worker).
 *
 * @example
 * runChunks('im2col', R, 1, [px, C, H, W, FH, FW, stride, pad, OH, OW, pcol], R * Kc >= 1 << 18);
 */
export const runChunks = (fn: ChunkedExport, total: number, align: number, args: readonly number[], worthSplitting: boolean, nThreads: number = threads): void =>
  runChunkJob({ fn, total, align, args, worthSplitting }, nThreads);

/** runChunks of a job given whole (its tail cut finer where it says so). @example runChunkJob(winogradDwJob(plan, x, pdy, pscratch).tiles) */
export const runChunkJob = (job: ChunkJob, nThreads: number = threads): void => {
  const { fn, total, align, args, worthSplitting } = job;
  if (total <= 0) return;
  if (nThreads <= 1 || !worthSplitting || total < 2 * align) {
    const t0 = tracing ? performance.now() : 0;
    callExport(fn, 0, total, args);
    if (tracing) {
      const t1 = performance.now();
      traced.push({ name: fn, items: total, units: 1, split: false, start: t0, callerMs: t1 - t0, waitMs: 0, workerBusyMs: 0, workerSpanMs: 0, workerStartMs: 0, end: t1 });
    }
    return;
  }
  publish([job], nThreads);
};

/**
 * Runs two independent jobs as one split across the threads where either is worth splitting (else one after the other
 * on this thread): `first`'s units, then `second`'s, claimed as one job's, so that a thread done with its share of
 * `first` goes on with `second` while the other thread ends its last unit of `first`. For a first job of few large
 * units (a filter gradient's shares, filter ranges or GEMM row chunks) and a second of many small ones (the input
 * gradient's). The two must not write what the other reads.
 *
 * @example runTogether(winogradDwJob(dwPlan, x, pdy, pa).tiles, winogradDxJob(dxPlan, pdy, w, parea, pdx));
 */
export const runTogether = (first: ChunkJob, second: ChunkJob, nThreads: number = threads): void => {
  if (nThreads <= 1 || !(first.worthSplitting || second.worthSplitting)) {
    // one after the other on this thread
    for (const { fn, total, align, args } of [first, second]) runChunks(fn, total, align, args, false, nThreads);
    return;
  }
  publish([first, second], nThreads);
  jobsRunTogether++;
};

let jobsRunTogether = 0;
/** How many runTogether calls were split across the threads as one job, since the program started (for tests). @example pairedJobs() // 0 at 1 thread */
export const pairedJobs = (): number => jobsRunTogether;

/** Units of a part of a job: unitOf(part) items each, at most 0x7fff of them (two parts' count CLAIM's 16 bits). */
const unitOf = ({ fn, total, align }: ChunkJob, nThreads: number): number => {
  const units = fn === 'gemmRows' ? 1 : UNITS_PER_CHUNK;
  return Math.max(align, Math.ceil(total / (nThreads * CHUNKS_PER_THREAD[fn] * units) / align) * align, Math.ceil(total / 0x7fff));
};

/** How a part of a job is cut: `count` units of `unit` items up to item `tailFrom`, of `tailUnit` items from there. */
interface Cut {
  readonly unit: number;
  readonly tailFrom: number;
  readonly tailUnit: number;
  readonly count: number;
}

let fineTails = true;
/** @example setFineTails(false); // every unit of a job unitOf's size, as before tails (tests) */
export const setFineTails = (on: boolean): void => {
  fineTails = on;
};
let partsWithTails = 0;
/** How many parts of split jobs had a finer tail, since the program started (for tests). @example tailedParts() // 0 at 1 thread */
export const tailedParts = (): number => partsWithTails;

/** At most this many tail units of a unit's items: each is a claim, and a call of the export. */
const TAIL_UNITS_PER_UNIT = 16;

/**
 * A part's cut: units of unitOf's size, and where the part says so (tailAlign), its last `nThreads` units' items in
 * units of tailAlign items (or whole multiples, TAIL_UNITS_PER_UNIT of them a unit at most): a thread that ends its last
 * large unit while another still runs one takes small ones, and the last to end is at most a small unit late. (Without
 * a tail: tailFrom 0, tailUnit the unit, and itemOf is u * unit; so too where the tail's units would not fit CLAIM's count.)
 */
const cutOf = (part: ChunkJob, nThreads: number): Cut => {
  const unit = unitOf(part, nThreads);
  const units = Math.ceil(part.total / unit);
  const { tailAlign } = part;
  if (!fineTails || tailAlign === undefined || tailAlign >= unit || units < 2 || units + TAIL_UNITS_PER_UNIT * nThreads > 0x7fff) {
    return { unit, tailFrom: 0, tailUnit: unit, count: units };
  }
  partsWithTails++;
  const tailUnit = Math.max(tailAlign, Math.ceil(unit / TAIL_UNITS_PER_UNIT / tailAlign) * tailAlign);
  const tailFrom = Math.max(0, units - nThreads) * unit;
  return { unit, tailFrom, tailUnit, count: tailFrom / unit + Math.ceil((part.total - tailFrom) / tailUnit) };
};

/** What a worker's ERROR code says (set in workerMain's catch from the exception's message). */
const WORKER_FAILURES: Readonly<Record<number, string>> = {
  1: 'an exception in the kernel',
  2: 'a memory access out of bounds',
  3: 'an unreachable instruction',
  4: 'the call stack exhausted',
};

/** Publishes a job of one or two parts to the pool, claims units of it with the workers, and waits for all of them. */
const publish = (parts: readonly ChunkJob[], nThreads: number): void => {
  for (const { fn, args } of parts) {
    if (args.length > MAX_ARGS) throw new FoldnetError('value', `fast kernels: ${fn} takes ${args.length} arguments, the thread pool passes at most ${MAX_ARGS}`);
  }
  const p = ensurePool(nThreads);
  const ctl = p.ctl;
  const t0 = tracing ? performance.now() : 0;
  const stats = tracing ? new Float64Array(ctl.buffer, STATS_AT * 4, STAT_WORDS * p.workers).fill(0) : undefined;
  ctl[TRACING] = tracing ? 1 : 0;
  const cuts = parts.map((part) => cutOf(part, nThreads));
  const counts = cuts.map(({ count }) => count);
  const units = counts[0] + (counts[1] ?? 0);
  const first = counts[0];
  p.seq = (p.seq + 1) & 0x3fffffff;
  const tag = (p.seq & 0x7fff) << 16;
  ctl[UNITS] = units;
  ctl[FIRST_UNITS] = first;
  parts.forEach(({ fn, total, args }, i) => {
    const at = PARTS + i * PART_SLOTS;
    ctl[at + FUNC] = CHUNKED.indexOf(fn);
    ctl[at + UNIT] = cuts[i].unit;
    ctl[at + TOTAL] = total;
    ctl[at + TAIL_FROM] = cuts[i].tailFrom;
    ctl[at + TAIL_UNIT] = cuts[i].tailUnit;
    for (let j = 0; j < MAX_ARGS; j++) ctl[at + ARGS + j] = args[j] ?? 0;
  });
  ctl[MEMORY_BYTES] = memory.buffer.byteLength;
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, ERROR, 0);
  Atomics.store(ctl, CLAIM, tag | units);
  Atomics.store(ctl, SEQ, p.seq);
  Atomics.notify(ctl, SEQ);
  // units [u0, u1) of part i
  const runPart = (i: number, u0: number, u1: number): void => {
    const { fn, total, args } = parts[i];
    const { unit, tailFrom, tailUnit } = cuts[i];
    callExport(fn, itemOf(u0, unit, tailFrom, tailUnit, total), itemOf(u1, unit, tailFrom, tailUnit, total), args);
  };
  for (;;) {
    const w = Atomics.load(ctl, CLAIM);
    const r = w & 0xffff;
    if (r === 0) break;
    const c = claimUnits(r, units - first, nThreads);
    if (Atomics.compareExchange(ctl, CLAIM, w, w - c) !== w) continue;
    const u0 = units - r;
    const u1 = u0 + c;
    if (u0 < first) runPart(0, u0, Math.min(u1, first));
    if (u1 > first) runPart(1, Math.max(u0, first) - first, u1 - first);
    Atomics.add(ctl, DONE, c);
  }
  const t1 = tracing ? performance.now() : 0;
  for (const until = performance.now() + CALLER_SPIN_MS; Atomics.load(ctl, DONE) < units && performance.now() < until; );
  for (let d = Atomics.load(ctl, DONE); d < units; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
  if (stats !== undefined) {
    const t2 = performance.now();
    let busy = 0;
    let firstClaim = Infinity;
    let span = 0;
    for (let w = 0; w < p.workers; w++) {
      busy += stats[STAT_WORDS * w];
      if (stats[STAT_WORDS * w + 1] !== 0) {
        firstClaim = Math.min(firstClaim, stats[STAT_WORDS * w + 1] - performance.timeOrigin);
        span += stats[STAT_WORDS * w + 2] - stats[STAT_WORDS * w + 1];
      }
    }
    traced.push({ name: parts.map(({ fn }) => fn).join('+'), items: parts.reduce((s, { total }) => s + total, 0), units, split: true, start: t0, callerMs: t1 - t0, waitMs: t2 - t1, workerBusyMs: busy, workerSpanMs: span, workerStartMs: firstClaim === Infinity ? -1 : firstClaim - t0, end: t2 });
  }
  const failure = Atomics.load(ctl, ERROR);
  if (failure !== 0) throw workerFailure(ctl, failure, parts);
};

/**
 * The error a worker's failure is thrown as: what failed (WORKER_FAILURES) in which job, then what the worker ran (the
 * export, its items and arguments), its exception's message, and the memory's size as the worker's thread saw it and as
 * this one does (a difference is a worker working on a view of the memory from before it grew).
 */
const workerFailure = (ctl: Int32Array, failure: number, parts: readonly ChunkJob[]): FoldnetError => {
  const { fn, args } = parts[ctl[FAILED + FAILED_PART]] ?? parts[0];
  const message = String.fromCharCode(...ctl.subarray(FAILED + FAILED_TEXT, FAILED + FAILED_TEXT + ctl[FAILED + FAILED_LENGTH]));
  return new FoldnetError(
    'value',
    `fast kernels: a worker thread failed in ${parts.map((part) => `${part.fn} over ${part.total} items`).join(' and ')}: ${WORKER_FAILURES[failure] ?? WORKER_FAILURES[1]} ` +
      `(${fn} over items [${ctl[FAILED + FAILED_I0]}, ${ctl[FAILED + FAILED_I1]}) with arguments ${args.join(', ')}: "${message}"; the memory is ` +
      `${memory.buffer.byteLength} bytes, the worker saw ${ctl[FAILED + FAILED_MEMORY]})`,
  );
};

/**
 * Runs `gemmRows` over rows [0, M), split across the threads when there are several and the GEMM is big
 * enough; B must already be packed at `job.bp`.
 *
 * @example
 * wasm.packB(pb, N, 1, K, N, pbp); runRows({ M, N, K, a: pa, rsA: K, csA: 1, bp: pbp, c: pc, ldc: N, acc: 0 });
 */
export const runRows = (job: RowsJob, nThreads: number = threads): void => runChunkJob(rowsJob(job), nThreads);

/** runRows' job: gemmRows over rows [0, M) in whole micro-tiles of 4 rows. @example runTogether(rowsJob(dw), dxJob) */
export const rowsJob = (job: RowsJob): ChunkJob => {
  const { M, N, K, a, rsA, csA, bp, c, ldc, acc, rowTab = 0, kTab = 0 } = job;
  return { fn: 'gemmRows', total: M, align: 4, args: [N, K, a, rsA, csA, bp, c, ldc, acc, rowTab, kTab], worthSplitting: M * N * K >= PARALLEL_MIN_MACS };
};

/**
 * One job as traceJobs saw it (ms by this thread's clock): its export(s), items and units, whether it was split, when
 * it started and ended, this thread's time in its own units and waiting for the workers' last ones, the workers' time
 * in their units, and when the first worker claimed (-1: none did).
 */
export interface JobRecord {
  readonly name: string;
  readonly items: number;
  readonly units: number;
  readonly split: boolean;
  readonly start: number;
  readonly callerMs: number;
  readonly waitMs: number;
  readonly workerBusyMs: number;
  /** From the workers' first claim to their last unit counted done, summed over the workers. */
  readonly workerSpanMs: number;
  readonly workerStartMs: number;
  readonly end: number;
}

let tracing = false;
let traced: JobRecord[] = [];
/**
 * Measuring only: records every job runChunks and runTogether run from now on (on: true), or stops; gives the records
 * since the last call and forgets them. @example traceJobs(true); step(s, b); const jobs = traceJobs(false);
 */
export const traceJobs = (on: boolean): readonly JobRecord[] => {
  const out = traced;
  traced = [];
  tracing = on;
  return out;
};
