import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { fromData, getThreads, key, setThreads, split, threadsReady } from '@foldnet/core';
import { decodeModelSpec, parseLoss, type Network } from '@foldnet/layers';
import { encodeTrainState, resumeTrainState, type TrainStateCheckpoint } from '../checkpoint/train-state.js';
import { augmentation, parseAugment } from '../data/augment.js';
import { batchesOf, sampleWithReplacement, shuffledEpochs, type LabeledData } from '../fit/batches.js';
import { evaluate } from '../fit/evaluate.js';
import { followObserved } from '../fit/fold.js';
import { abortable, periodicEvaluation } from '../fit/observers.js';
import { initTrainState, trainStep, type TrainState } from '../fit/state.js';
import type { AnyOptimizer, Hyper } from '../optim/optimizer.js';
import { optimizerFromName } from '../optim/registry.js';
import { trainStateFromBytes } from './checkpoint-bytes.js';
import { fetchMnist } from './data.js';
import { lrScheduleOver } from '../optim/schedule-text.js';
import type { FromTrainWorker, MetricsRecord, OptimizerChoice, SplitData, TrainJob, TrainOutcome } from './train-protocol.js';

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

const positiveNumber = (name: string, v: number): number => {
  if (!(Number.isFinite(v) && v > 0)) throw new TrainJobError(`trainInWorker: ${name} must be a positive number, got ${v}`);
  return v;
};

/** One of the job's recipe texts (loss, lrSchedule, augment), read by `parse`; a bad one is named with what is wrong. */
const recipe = <A>(name: string, text: unknown, parse: (text: string) => Either<string, A>): A => {
  if (typeof text !== 'string') throw new TrainJobError(`trainInWorker: ${name} must be a text, got ${JSON.stringify(text)}`);
  const r = parse(text);
  if (isLeft(r)) throw new TrainJobError(`trainInWorker: ${name}: ${r.left}`);
  return r.right;
};

/** The network the job trains: its model spec, or the resumed checkpoint's. */
const networkOf = (job: TrainJob, from: TrainStateCheckpoint | undefined): Network => {
  const spec = job.model ?? from?.model;
  if (spec === undefined) throw new TrainJobError(`trainInWorker: model: give a model spec${from === undefined ? '' : ' (the resumed checkpoint holds none)'}`);
  const network = decodeModelSpec(spec);
  if (isLeft(network)) throw new TrainJobError(`trainInWorker: model: ${network.left.message}`);
  return network.right;
};

const choiceParts = ({ type, ...hyper }: OptimizerChoice): { readonly type: string; readonly hyper: Hyper } => ({ type, hyper });

/**
 * The optimizer as `foldnet train` builds it: the job's choice (or, resuming, the checkpoint's with its settings), with
 * `weightDecay` and `decayParams` over it.
 */
const optimizerOf = (job: TrainJob, saved: AnyOptimizer | undefined): { readonly optimizer: AnyOptimizer; readonly choice: Readonly<Record<string, unknown>> } => {
  const { type, hyper } = job.optimizer !== undefined ? choiceParts(job.optimizer) : saved !== undefined ? { type: saved.name, hyper: saved.hyper } : { type: 'adam', hyper: {} };
  const decayParams = job.decayParams;
  if (decayParams !== undefined && decayParams !== 'weights' && decayParams !== 'all') {
    throw new TrainJobError(`trainInWorker: decayParams must be "weights" or "all", got ${JSON.stringify(decayParams)}`);
  }
  const settings = {
    ...hyper,
    ...(job.weightDecay === undefined ? {} : { weightDecay: job.weightDecay }),
    ...(decayParams === undefined ? {} : { decayAll: decayParams === 'all' ? 1 : 0 }),
  };
  const optimizer = optimizerFromName(type, settings);
  if (isLeft(optimizer)) throw new TrainJobError(`trainInWorker: optimizer: ${optimizer.left.message}`);
  return { optimizer: optimizer.right, choice: { type, ...hyper } };
};

/** The checkpoint `job.resume` holds, decoded with every check of `foldnet train --resume`. */
const resumedCheckpoint = (job: TrainJob): TrainStateCheckpoint | undefined => {
  if (job.resume === undefined) return undefined;
  if (!(job.resume instanceof Uint8Array)) throw new TrainJobError('trainInWorker: resume must be the bytes of a checkpoint (a Uint8Array)');
  const r = trainStateFromBytes('resume', job.resume);
  if (isLeft(r)) throw new TrainJobError(`trainInWorker: ${r.left.message}`);
  return r.right;
};

/** The state and optimizer a resumed checkpoint holds for `network` (its params must fit it). */
const restoredState = (from: TrainStateCheckpoint, network: Network): { readonly optimizer: AnyOptimizer; readonly state: TrainState<unknown> } => {
  const r = resumeTrainState(from, network);
  if (isLeft(r)) throw new TrainJobError(`trainInWorker: ${r.left.message}`);
  return r.right;
};

/**
 * Runs `job`, telling `post` each batch loss (every `stepsPerTurn` steps), each evaluation and the end; gives the
 * outcome (the checkpoint's bytes). Throws a TrainJobError for a bad job (model spec, optimizer, sizes, recipes, the
 * checkpoint resumed, data).
 *
 * @example
 * const outcome = await runTrainJob(job, control, (m) => console.log(m.type));
 */
export const runTrainJob = async (job: TrainJob, control: JobControl, post: (message: FromTrainWorker) => void): Promise<TrainOutcome> => {
  if ((job.iters === undefined) === (job.epochs === undefined)) {
    throw new TrainJobError(`trainInWorker: give either iters or epochs${job.iters === undefined ? '' : `, not both (got iters ${job.iters}, epochs ${job.epochs})`}`);
  }
  const batchSize = positiveInt('batchSize', job.batchSize ?? 100);
  const stepsPerTurn = positiveInt('stepsPerTurn', job.stepsPerTurn ?? 1);
  const evalEvery = job.evalEvery ?? 10;
  if (!Number.isSafeInteger(evalEvery) || evalEvery < 0) throw new TrainJobError(`trainInWorker: evalEvery must be an integer >= 0, got ${evalEvery}`);
  const seed = job.seed ?? 0;
  if (job.weightDecay !== undefined && !(Number.isFinite(job.weightDecay) && job.weightDecay >= 0)) {
    throw new TrainJobError(`trainInWorker: weightDecay must be a number >= 0, got ${job.weightDecay}`);
  }
  const clipNorm = job.clipNorm === undefined ? undefined : positiveNumber('clipNorm', job.clipNorm);
  const lossText = job.loss ?? 'ce';
  const loss = recipe('loss', lossText, parseLoss);
  const augmentText = job.augment ?? 'none';
  const augment = augmentation(recipe('augment', augmentText, parseAugment));
  if (job.threads !== undefined) setThreads(positiveInt('threads', job.threads));
  await threadsReady();
  const from = resumedCheckpoint(job);
  const net = networkOf(job, from);
  const restored = from === undefined ? undefined : restoredState(from, net);
  const { optimizer: opt, choice } = optimizerOf(job, restored?.optimizer);
  const data = await loadData(job);
  const n = data.train.x.shape[0] ?? 0;
  // as foldnet train: --epochs counts its steps over the training split
  const iters = job.epochs === undefined ? positiveInt('iters', job.iters ?? 0) : positiveInt('epochs', job.epochs) * Math.ceil(n / batchSize);
  const lrScheduleText = job.lrSchedule ?? 'constant';
  const lrSchedule = recipe('lrSchedule', lrScheduleText, (text) => lrScheduleOver(text, iters));

  // as foldnet train: split(key(seed)) -> (model, data); batches with replacement over the whole training split, or
  // shuffled epochs; a resumed run takes the checkpoint's state, with its optimizer's state when of the same kind
  const [modelKey, dataKey] = split(key(seed));
  const state0 =
    restored === undefined
      ? initTrainState(net, opt, modelKey)
      : restored.optimizer.name === opt.name
        ? restored.state
        : { ...restored.state, opt: opt.init(restored.state.params) };
  if (state0.step >= iters) {
    throw new TrainJobError(`trainInWorker: resume: the checkpoint is at step ${state0.step} and the run ends at step ${iters}: give iters greater than ${state0.step} (iters counts the run's total steps)`);
  }
  const indices =
    job.epochs === undefined
      ? sampleWithReplacement({ key: dataKey, n, batchSize, steps: iters })
      : shuffledEpochs({ key: dataKey, n, batchSize, epochs: job.epochs });
  const batches = batchesOf(data.train, indices).from(state0.step);
  const started = performance.now();
  let confusion: readonly (readonly number[])[] = [];
  const measure = (s: TrainState<unknown>) => {
    const tr = evaluate(net, s.params, s.layerState, data.train, { loss });
    const te = evaluate(net, s.params, s.layerState, data.test, { loss });
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
  const step = trainStep(net, opt, { lrSchedule, augment, loss, ...(clipNorm === undefined ? {} : { clipNorm }) });
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
  // the settings under foldnet train's names, so that `foldnet train --resume` of this checkpoint goes on alike
  const config = job.config ?? {
    dataset: 'mnist', iters, ...(job.epochs === undefined ? {} : { epochs: job.epochs }), batchSize, evalEvery, seed, optimizer: choice, trainSize: n, testSize: data.test.x.shape[0] ?? 0,
    loss: lossText, lrSchedule: lrScheduleText, augment: augmentText,
    ...(job.weightDecay === undefined ? {} : { weightDecay: job.weightDecay }), ...(job.decayParams === undefined ? {} : { decayParams: job.decayParams }),
    ...(clipNorm === undefined ? {} : { clipNorm }),
  };
  const bytes = encodeTrainState('checkpoint.safetensors', { network: net, optimizer: opt, state: last, config, metrics: records });
  if (isLeft(bytes)) throw new TrainJobError(bytes.left.message);
  return { checkpoint: bytes.right, step: last.step, stopped: evaluations.aborted, confusion, threads: getThreads() };
};
