import type { CheckResult, NetworkResult } from '../checks.js';

/** What the worker says first, once @foldnet/core has loaded in it (its kernels compile with a top-level await). */
export interface WorkerLoaded {
  readonly loaded: true;
}

/** What the page asks the worker, once it has loaded: how many threads the fast kernels should use. */
export interface WorkerRequest {
  readonly threads: number;
}

/** What the worker answers once every check has run. */
export interface WorkerResult {
  readonly crossOriginIsolated: boolean;
  /** getThreads() after setThreads(request.threads): 1 where the page is not cross-origin isolated. */
  readonly threads: number;
  /** Pool workers ready after threadsReady(), and the chunks of work they (not the calling thread) ran. */
  readonly readyWorkers: number;
  readonly workerChunks: number;
  readonly checks: readonly CheckResult[];
  readonly network: NetworkResult;
}
