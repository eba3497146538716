import type { FromTrainWorker, MetricsRecord, ToTrainWorker, TrainJob, TrainOutcome } from './train-protocol.js';

/*
 * Training off the page's main thread: trainInWorker starts a dedicated Worker (train-worker.ts), hands it the job once
 * it says it has loaded, and gives the page an asynchronous handle: progress callbacks with the records of
 * metrics.jsonl, pause / resume / stop, and the trained state back as safetensors bytes. The page never blocks: the
 * Worker steps between turns of its own event loop, and the fast kernels' threads block only inside Workers.
 */

/** What a Worker's listeners are given, as far as used here: a message's data, an error's message. */
export interface WorkerEventLike {
  readonly data?: unknown;
  readonly message?: string;
}

/** The few members of a Worker used here (train's TypeScript lib has no DOM types); a DOM Worker is one. */
export interface WorkerLike {
  postMessage(message: ToTrainWorker): void;
  addEventListener(type: 'message' | 'error', listener: (event: WorkerEventLike) => void): void;
  terminate(): void;
}

const messageTypes: ReadonlySet<string> = new Set<FromTrainWorker['type']>(['loaded', 'step', 'record', 'paused', 'resumed', 'done', 'error']);

/** Whether a Worker's message is one of train-worker.ts's (anything else is not this module's to read). */
const isFromTrainWorker = (data: unknown): data is FromTrainWorker =>
  typeof data === 'object' && data !== null && typeof Reflect.get(data, 'type') === 'string' && messageTypes.has(Reflect.get(data, 'type'));

/** trainInWorker's options: the job, callbacks, and optionally a Worker of your own (running train-worker.js). */
export interface TrainInWorkerOptions extends TrainJob {
  /** Each evaluation, as it is made. */
  readonly onRecord?: (record: MetricsRecord) => void;
  /** The batch loss, every `stepsPerTurn` steps. */
  readonly onStep?: (step: number, loss: number) => void;
  /** Called with true when the Worker has paused (between two steps), false when it goes on. */
  readonly onPause?: (paused: boolean, step: number) => void;
  /** A Worker already started on @foldnet/train's train-worker module; by default one is started here. */
  readonly worker?: WorkerLike;
}

/** A run under way. */
export interface TrainRun {
  /** The outcome once training ends (finished or stopped); rejects with the Worker's error. The Worker is then ended. */
  readonly done: Promise<TrainOutcome>;
  /** The evaluations so far. */
  readonly records: () => readonly MetricsRecord[];
  /** Pauses after the step under way; `onPause(true)` says when it has. */
  readonly pause: () => void;
  readonly resume: () => void;
  /** Ends training after the step under way: `done` then gives the state reached, with `stopped: true`. */
  readonly stop: () => void;
}

interface WorkerConstructor {
  new (url: URL, options: { readonly type: 'module'; readonly name: string }): WorkerLike;
}

/** Starts @foldnet/train's training Worker beside this module (bundlers copy it: Vite needs `worker.format: 'es'`). */
const startWorker = (): WorkerLike => {
  const Worker: WorkerConstructor | undefined = Reflect.get(globalThis, 'Worker');
  if (Worker === undefined) throw new Error('trainInWorker: this environment has no Web Worker (run it in a browser page)');
  // the literal `new Worker(new URL('./x.js', import.meta.url), { type: 'module' })` is what bundlers recognise
  return new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module', name: 'foldnet training' });
};

/**
 * Trains in a dedicated Worker, as `foldnet train` would with the same settings (same seed: the same checkpoint
 * tensors, bit for bit): its loss, lrSchedule, augment, epochs, weightDecay, decayParams and clipNorm too, and `resume`
 * goes on from a checkpoint's bytes (see TrainJob). A bad setting rejects `done` with a message naming it.
 *
 * @example
 * const run = trainInWorker({ model: unwrap(simpleConvNet()).spec, data: { baseUrl: '/mnist/', trainSize: 2000, testSize: 500 }, iters: 200, lrSchedule: 'warmup:20,cosine', onRecord: (r) => chart.add(r) });
 * stopButton.onclick = () => run.stop();
 * const { checkpoint } = await run.done; // Uint8Array: a .safetensors file foldnet eval reads
 * const more = trainInWorker({ data: { baseUrl: '/mnist/', trainSize: 2000, testSize: 500 }, iters: 200, lrSchedule: 'warmup:20,cosine', resume: checkpoint });
 */
export const trainInWorker = (options: TrainInWorkerOptions): TrainRun => {
  const { onRecord, onStep, onPause, worker: given, ...job } = options;
  const worker = given ?? startWorker();
  const records: MetricsRecord[] = [];
  let loaded = false;
  // what the page asked before the Worker had loaded waits for it (a message sent earlier finds no listener)
  const pending: ToTrainWorker[] = [];
  const send = (m: ToTrainWorker): void => {
    if (loaded) worker.postMessage(m);
    else pending.push(m);
  };
  const done = new Promise<TrainOutcome>((resolve, reject) => {
    const finish = (settle: () => void): void => {
      worker.terminate();
      settle();
    };
    worker.addEventListener('error', (event) => finish(() => reject(new Error(event.message || 'trainInWorker: the training Worker failed to load'))));
    worker.addEventListener('message', ({ data }) => {
      if (!isFromTrainWorker(data)) return;
      switch (data.type) {
        case 'loaded':
          loaded = true;
          worker.postMessage({ type: 'start', job });
          for (const m of pending.splice(0)) worker.postMessage(m);
          return;
        case 'step':
          onStep?.(data.step, data.loss);
          return;
        case 'record':
          records.push(data.record);
          onRecord?.(data.record);
          return;
        case 'paused':
        case 'resumed':
          onPause?.(data.type === 'paused', data.step);
          return;
        case 'done': {
          const { type: _done, ...outcome } = data;
          finish(() => resolve(outcome));
          return;
        }
        case 'error':
          finish(() => reject(new Error(data.message)));
          return;
      }
    });
  });
  return {
    done,
    records: () => records,
    pause: () => send({ type: 'pause' }),
    resume: () => send({ type: 'resume' }),
    stop: () => send({ type: 'stop' }),
  };
};
