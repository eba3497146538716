import { runTrainJob, type JobControl } from './train-job.js';
import type { FromTrainWorker, ToTrainWorker } from './train-protocol.js';

/*
 * The dedicated Worker trainInWorker starts (train-in-worker.ts): it says `loaded` once @foldnet/core's kernels have
 * compiled (a top-level await in core; a message sent before would find no listener), then runs one job, stepping
 * between turns of its event loop so that pause, resume and stop are heard. The checkpoint's bytes go back transferred.
 */

// A Worker's globals, read through Reflect: train's TypeScript lib has no DOM or WebWorker types.
const post: (message: FromTrainWorker, transfer?: readonly ArrayBuffer[]) => void = (message, transfer = []) =>
  Reflect.apply(Reflect.get(globalThis, 'postMessage'), globalThis, [message, transfer]);
const listen: (type: 'message', listener: (event: { readonly data: ToTrainWorker }) => void) => void = (type, listener) =>
  Reflect.apply(Reflect.get(globalThis, 'addEventListener'), globalThis, [type, listener]);

const aborted = { aborted: false };
let paused = false;
let wake: (() => void) | undefined;
const control: JobControl = {
  signal: aborted,
  paused: () => paused,
  whenResumed: () => new Promise<void>((resolve) => (wake = resolve)),
  turn: () => new Promise<void>((resolve) => setTimeout(resolve, 0)),
};
const wakeUp = (): void => {
  wake?.();
  wake = undefined;
};

listen('message', ({ data }) => {
  switch (data.type) {
    case 'start':
      runTrainJob(data.job, control, (m) => post(m)).then(
        (outcome) => {
          const { buffer } = outcome.checkpoint;
          post({ type: 'done', ...outcome }, buffer instanceof ArrayBuffer ? [buffer] : []);
        },
        (e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
      );
      return;
    case 'pause':
      paused = true;
      return;
    case 'resume':
      paused = false;
      wakeUp();
      return;
    case 'stop':
      aborted.aborted = true;
      wakeUp();
      return;
  }
});
post({ type: 'loaded' });
