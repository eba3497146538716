import { isLeft } from 'fp-ts/lib/Either.js';
import { fromData, getThreads, key, setThreads, split, threadsReady } from '@foldnet/core';
import { decodeModelSpec } from '@foldnet/layers';
import { encodeTrainState } from '../checkpoint/train-state.js';
import { batchesOf, sampleWithReplacement, type LabeledData } from '../fit/batches.js';
import { evaluate } from '../fit/evaluate.js';
import { followObserved } from '../fit/fold.js';
import { abortable, periodicEvaluation } from '../fit/observers.js';
import { initTrainState, trainStep } from '../fit/state.js';
import { optimizerFromName } from '../optim/registry.js';
import { constantLr } from '../optim/schedule.js';
import { fetchMnist } from './data.js';
import type { FromTrainWorker, MetricsRecord, SplitData, TrainJob, TrainOutcome } from './train-protocol.js';

/*
 * One training run in steps that yield: the fold of `foldnet train` (same key split, batch stream, step, evaluations
 * and checkpoint bytes), followed asynchronously so that between steps the thread returns to its event loop, where a
 * Worker hears pause and stop. Written apart from the Worker's shell (train-worker.ts) so Node runs the same code.
 */

/** How a run is steered from outside while it goes: read between steps. */
export interface JobControl {
  readonly signal: { readonly aborted: boolean };
  readonly paused: () => boolean;
  /** Resolves when the run may go on (resumed or stopped). */
  readonly whenResumed: () => Promise<void>;
  /** One turn of the event loop (a Worker's setTimeout 0, Node's setImmediate). */
  readonly turn: () => Promise<void>;
}

/** A failure of the job's own input: its message is for the person who set it up. */
export class TrainJobError extends Error {}

const toLabeled = (s: SplitData): LabeledData => ({ x: fromData(s.images.shape, s.images.data), targets: s.labels });

const loadData = async (job: TrainJob): Promise<{ readonly train: LabeledData; readonly test: LabeledData }> => {
  const { data } = job;
  if ('train' in data) return { train: toLabeled(data.train), test: toLabeled(data.test) };
  const fetched = await fetchMnist({ baseUrl: data.baseUrl, gz: data.gz ?? false, trainSize: data.trainSize, testSize: data.testSize });
  if (isLeft(fetched)) throw new TrainJobError(fetched.left.message);
  const { train, test } = fetched.right;
  return { train: { x: train.images, targets: train.labels }, test: { x: test.images, targets: test.labels } };
};

const positiveInt = (name: string, v: number): number => {
  if (!Number.isSafeInteger(v) || v < 1) throw new TrainJobError(`trainInWorker: ${name} must be a positive integer, got ${v}`);
  return v;
};

/**
 * Runs `job`, telling `post` each batch loss (every `stepsPerTurn` steps), each evaluation and the end; gives the
 * outcome (the checkpoint's bytes). Throws a TrainJobError for a bad job (model spec, optimizer, sizes, data).
 *
 * @example
 * const outcome = await runTrainJob(job, control, (m) => console.log(m.type));
 */
export const runTrainJob = async (job: TrainJob, control: JobControl, post: (message: FromTrainWorker) => void): Promise<TrainOutcome> => {
  const iters = positiveInt('iters', job.iters);
  const batchSize = positiveInt('batchSize', job.batchSize ?? 100);
  const stepsPerTurn = positiveInt('stepsPerTurn', job.stepsPerTurn ?? 1);
  const evalEvery = job.evalEvery ?? 10;
  if (!Number.isSafeInteger(evalEvery) || evalEvery < 0) throw new TrainJobError(`trainInWorker: evalEvery must be an integer >= 0, got ${evalEvery}`);
  const seed = job.seed ?? 0;
  if (job.threads !== undefined) setThreads(positiveInt('threads', job.threads));
  await threadsReady();
  const network = decodeModelSpec(job.model);
  if (isLeft(network)) throw new TrainJobError(`trainInWorker: model: ${network.left.message}`);
  const { type, ...hyper } = job.optimizer ?? { type: 'adam' };
  const optimizer = optimizerFromName(type, hyper);
  if (isLeft(optimizer)) throw new TrainJobError(`trainInWorker: optimizer: ${optimizer.left.message}`);
  const data = await loadData(job);
  const n = data.train.x.shape[0] ?? 0;

  // as foldnet train: split(key(seed)) -> (model, data); batches with replacement over the whole training split
  const [modelKey, dataKey] = split(key(seed));
  const net = network.right;
  const opt = optimizer.right;
  const state0 = initTrainState(net, opt, modelKey);
  const batches = batchesOf(data.train, sampleWithReplacement({ key: dataKey, n, batchSize, steps: iters }));
  const started = performance.now();
  let confusion: readonly (readonly number[])[] = [];
  const measure = (s: typeof state0) => {
    const tr = evaluate(net, s.params, s.layerState, data.train);
    const te = evaluate(net, s.params, s.layerState, data.test);
    confusion = te.confusion;
    return { train_acc: tr.accuracy, test_acc: te.accuracy, test_loss: te.loss, elapsed_s: Math.round(performance.now() - started) / 1000 };
  };
  const watch = abortable(periodicEvaluation({ every: evalEvery, total: iters, evaluate: measure }), control.signal);

  // the evaluation window: the finite batch losses since the last evaluation (metrics.jsonl's `loss`)
  let windowSum = 0;
  let windowCount = 0;
  const records: MetricsRecord[] = [];
  const addRecords = (history: readonly { readonly step: number; readonly metrics: Omit<MetricsRecord, 'step' | 'loss'> }[]): void => {
    for (const { step, metrics } of history.slice(records.length)) {
      const record: MetricsRecord = { step, loss: windowCount === 0 ? Number.NaN : windowSum / windowCount, ...metrics };
      records.push(record);
      windowSum = 0;
      windowCount = 0;
      post({ type: 'record', record });
    }
  };
  const step = trainStep(net, opt, { lrSchedule: constantLr });
  const final = await followObserved(step, state0, batches, watch, async ({ state, acc: evaluations }) => {
    // the step's loss joins the window that the evaluation made after it (if any) closes
    if (Number.isFinite(state.loss)) {
      windowSum += state.loss;
      windowCount++;
    }
    addRecords(evaluations.inner.history);
    if (state.step % stepsPerTurn !== 0 && state.step !== iters) return;
    post({ type: 'step', step: state.step, loss: state.loss });
    await control.turn();
    if (control.paused() && !control.signal.aborted) {
      post({ type: 'paused', step: state.step });
      await control.whenResumed();
      post({ type: 'resumed', step: state.step });
    }
  });
  const evaluations = final.acc;
  addRecords(evaluations.inner.history);
  const last = final.state;
  if (last.fault !== undefined) throw new TrainJobError(`training stopped: ${last.fault.message}`);
  const config = job.config ?? { dataset: 'mnist', iters, batchSize, evalEvery, seed, optimizer: { type, ...hyper }, trainSize: n, testSize: data.test.x.shape[0] ?? 0 };
  const bytes = encodeTrainState('checkpoint.safetensors', { network: net, optimizer: opt, state: last, config, metrics: records });
  if (isLeft(bytes)) throw new TrainJobError(bytes.left.message);
  return { checkpoint: bytes.right, step: last.step, stopped: evaluations.aborted, confusion, threads: getThreads() };
};
