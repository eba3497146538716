import { getThreads, setThreads, threadsReady, threadStats } from '@foldnet/core';
import { networkCase, runKernelChecks } from '../checks.js';
import type { WorkerLoaded, WorkerRequest, WorkerResult } from './protocol.js';

// The dedicated Worker of the browser tests: the fast kernels block in Atomics.wait when they use threads, which only a
// worker may do. Once loaded (@foldnet/core compiles its kernels with a top-level await, and a message arriving before
// that would find no listener) it says so; asked, it starts its pool without blocking (threadsReady), runs the checks
// and answers once.
addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
  setThreads(event.data.threads);
  void threadsReady().then((readyWorkers) => {
    const checks = runKernelChecks();
    const network = networkCase();
    const result: WorkerResult = { crossOriginIsolated, threads: getThreads(), readyWorkers, workerChunks: threadStats().workerChunks, checks, network };
    postMessage(result);
  });
});
const loaded: WorkerLoaded = { loaded: true };
postMessage(loaded);
