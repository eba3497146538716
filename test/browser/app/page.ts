import { fastKernels, fromNested, getThreads, referenceKernels } from '@foldnet/core';
import { startGapTimer } from './gap-timer.js';
import type { WorkerLoaded, WorkerRequest, WorkerResult } from './protocol.js';

/*
 * The page the browser tests open (test/browser/browser.test.ts serves it with and without the cross-origin isolation
 * headers). It loads @foldnet/core on its own main thread too (one thread: the main thread may not block), starts the
 * dedicated Worker that runs the checks, and meanwhile keeps a 10 ms timer running to measure the longest gap between
 * its ticks: the main thread must stay responsive while the worker computes. `?threads=N` asks the worker for N threads.
 */

/** What the page leaves in window.foldnetResults for the test to read. */
export interface PageResults {
  readonly crossOriginIsolated: boolean;
  /** The main thread's own use of @foldnet/core: threads in force and a small matmul against the reference. */
  readonly mainThread: { readonly threads: number; readonly matmulEqual: boolean };
  readonly worker: WorkerResult;
  /** The longest interval between two ticks of the page's 10 ms timer while the worker ran, and how many ticks. */
  readonly longestGapMs: number;
  readonly ticks: number;
}

const threads = Number(new URLSearchParams(location.search).get('threads') ?? '1');

const a = fromNested([[1, 2, 3], [4, 5, 6]]);
const b = fromNested([[7, 8], [9, 10], [11, 12]]);
const fast = fastKernels.matmul(a, b, false, false);
const reference = referenceKernels.matmul(a, b, false, false);
const mainThread = { threads: getThreads(), matmulEqual: Array.from(fast.data).every((v, i) => v === reference.data[i]) };

const timer = startGapTimer();

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'foldnet checks' });
worker.onmessage = (event: MessageEvent<WorkerLoaded | WorkerResult>) => {
  if ('loaded' in event.data) {
    const request: WorkerRequest = { threads };
    worker.postMessage(request);
    return;
  }
  const results: PageResults = { crossOriginIsolated, mainThread, worker: event.data, ...timer.stop() };
  Reflect.set(window, 'foldnetResults', results);
};
worker.onerror = (event) => Reflect.set(window, 'foldnetError', event.message || 'the worker failed to load');
