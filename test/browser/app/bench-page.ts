import type { StepBenchRequest, StepBenchResult } from '../step-bench.js';

// The benchmark page (test/browser/bench.ts): starts the worker, asks it for `?threads=&warmup=&steps=` once it has
// loaded, and leaves its answer in window.foldnetBench.
const query = new URLSearchParams(location.search);
const request: StepBenchRequest = { threads: Number(query.get('threads') ?? '1'), warmup: Number(query.get('warmup') ?? '5'), steps: Number(query.get('steps') ?? '30') };
const worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module', name: 'foldnet bench' });
worker.onmessage = (event: MessageEvent<{ readonly loaded: true } | StepBenchResult>) => {
  if ('loaded' in event.data) worker.postMessage(request);
  else Reflect.set(window, 'foldnetBench', event.data);
};
worker.onerror = (event) => Reflect.set(window, 'foldnetError', event.message || 'the worker failed to load');
