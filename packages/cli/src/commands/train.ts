import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, setBackend, setThreads, getThreads, split, type Tensor } from '@foldnet/core';
import type { Network } from '@foldnet/layers';
import {
  abortable, augmentation, batchesOf, combine, evaluate, followObserved, initTrainState, loadDataset, lossHistory, lossPoints, lossStalledAfter,
  numericFaults, optimizerFromName, parseAugment, periodicCheckpoint, periodicEvaluation, progress, readRegularFile, sampleWithReplacement, shuffledEpochs, trainStep,
  type AnyOptimizer, type DatasetName, type EvaluationLog, type ImageFolderScan, type LossHistory, type TrainState,
} from '@foldnet/train';
import { readTrainCheckpoint, restoreTrainState, writeTrainCheckpoint, type TrainCheckpoint } from '../checkpoint.js';
import {
  absoluteLayer, decodeTrainConfigFile, optimizerHyper, overlayTrainConfig, resolveTrainConfig, savedOptimizerLayer, trainConfigFields, trainFlagsOf, type TrainConfig, type TrainConfigFile,
} from '../config.js';
import { CheckFailed, Interrupted, UsageError } from '../errors.js';
import { optString, optStrings } from '../flags.js';
import { readUserJson, shellWord, shownPath, type InterruptSignal, type Io } from '../io.js';
import {
  MAX_METRICS_BYTES, evaluationLine, extendWindow, parseJsonLines, parseStepLosses, runCarry, runCarryJson, runCarryOf, stepLossLines, toCsv, toJsonLines, windowMean,
  type LossWindow, type MetricsRow,
} from '../metrics.js';
import { expectModelFits, loadModel, modelShortName, networkFromSpec, totalParams, type LoadedModel, type ModelInput } from '../models.js';
import {
  checkpointDataInfo, decodeFolderData, folderCounts, folderModelInput, folderSummary, folderTitle, folderUsage, normalizedSet, runNormalization, scanFolderData, withFolderSettings,
  type SizesByDefault,
} from '../folder-data.js';
import { findFonts, type StepLoss } from '../plots.js';
import { createProgress } from '../progress.js';
import { appendRunFile, openRunFolder, writeRunFile, type OpenRunFolder } from '../runfolder.js';
import { lossOf, lrScheduleOf, runConfigJson, writeRunFiles } from '../runwriter.js';
import { expectDatasetInstalled, memoryLimit, refuseTrainingOverMemory } from './common.js';

/**
 * The config a checkpoint was trained with, as a config file layer (its run folder and resume
 * path dropped; its own way of counting steps kept).
 */
const checkpointConfigLayer = (ckpt: TrainCheckpoint): TrainConfigFile => {
  const saved = ckpt.config;
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return {};
  const { out: _out, resume: _resume, ...kept } = saved as Readonly<Record<string, unknown>>;
  const decoded = decodeTrainConfigFile(kept);
  if (isLeft(decoded)) throw new UsageError(`${ckpt.file}: its saved config: ${decoded.left}`);
  // The optimizer the checkpoint itself names, with every hyper-parameter it ran with, over its saved config.
  return overlayTrainConfig(decoded.right, savedOptimizerLayer(ckpt.optimizer));
};

/**
 * Resolves the training config: defaults < the resumed checkpoint's config < --config file < flags.
 * Returns the checkpoint too when resuming, and which image counts are the defaults' (given by none of them).
 *
 * @example
 * const { config, checkpoint } = loadTrainConfig({ iters: 20, resume: 'runs/a/checkpoint.safetensors' }, nodeIo());
 */
export const loadTrainConfig = (
  opts: Readonly<Record<string, unknown>>,
  io: Io,
): { readonly config: TrainConfig; readonly checkpoint: TrainCheckpoint | undefined; readonly sizesByDefault: SizesByDefault } => {
  const flags = trainFlagsOf(opts);
  const configPath = optString(opts, 'config');
  let file: TrainConfigFile = {};
  if (configPath !== undefined) {
    const decoded = decodeTrainConfigFile(readUserJson(io.cwd, configPath, '--config'));
    if (isLeft(decoded)) throw new UsageError(`${configPath}: ${decoded.left}`);
    file = absoluteLayer(decoded.right, path.dirname(path.resolve(io.cwd, configPath)));
  }
  const resume = typeof flags.resume === 'string' ? path.resolve(io.cwd, flags.resume) : (file.resume ?? undefined);
  const checkpoint = resume === undefined ? undefined : readTrainCheckpoint(shownPath(io.cwd, resume, typeof flags.resume === 'string' ? flags.resume : undefined), io.cwd);
  const layered = checkpoint === undefined ? file : overlayTrainConfig(checkpointConfigLayer(checkpoint), file);
  const sizesByDefault = { trainSize: layered.trainSize === undefined && flags.trainSize === undefined, testSize: layered.testSize === undefined && flags.testSize === undefined };
  return { config: resolveTrainConfig(layered, io.cwd, flags, io.cwd), checkpoint, sizesByDefault };
};

/**
 * The network a resumed run continues: the one rebuilt from the model spec stored in its checkpoint (a checkpoint
 * alone is enough: the spec file it came from may be gone or edited since), unless `--model` names one, which the
 * checkpoint's params must then fit (a mismatch is refused, naming the param and both shapes).
 */
const resumedModel = (checkpoint: TrainCheckpoint, configured: string, opts: Readonly<Record<string, unknown>>, io: Io, input: ModelInput | undefined): LoadedModel & { readonly model: string } => {
  const given = optString(opts, 'model');
  if (given !== undefined) return { ...loadModel(given, io.cwd, null, input), model: configured };
  const saved = checkpoint.config;
  const savedModel = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? Reflect.get(saved, 'model') : undefined;
  const model = typeof savedModel === 'string' ? savedModel : configured;
  const network = networkFromSpec(checkpoint.model, `${checkpoint.file}: its model spec`);
  // an image folder that changed since (another size, another class) is named, not fed to the wrong network
  if (input !== undefined) expectModelFits(network, checkpoint.file, input);
  return { network, name: modelShortName(model), model };
};

/**
 * The command that continues an interrupted run, as the user can type it where they stand: the
 * checkpoint as printed and the run's --plugin modules (its layers need them to be read back).
 *
 * @example resumeCommand(io, 'runs/a/checkpoint.safetensors', {}) // 'pnpm foldnet train --resume runs/a/checkpoint.safetensors'
 */
export const resumeCommand = (io: Io, checkpoint: string, opts: Readonly<Record<string, unknown>>): string =>
  [io.command ?? 'foldnet', 'train', '--resume', shellWord(checkpoint), ...optStrings(opts, 'plugin').flatMap((p) => ['--plugin', shellWord(p)])].join(' ');

/** The data a run trains and evaluates on. */
interface RunData {
  readonly train: { readonly x: Tensor; readonly targets: Int32Array };
  readonly test: { readonly x: Tensor; readonly targets: Int32Array };
  /** 'MNIST', 'Fashion-MNIST'. */
  readonly title: string;
  readonly classNames: readonly string[];
}

/** The IDX dataset a run reads when it reads no image folder (resolution leaves `dataset` null for image folders alone). */
const idxDataset = (config: TrainConfig): DatasetName => config.dataset ?? trainConfigFields.dataset.fallback;

/** The config's dataset, from its own place (checked by trainCommand: expectDatasetInstalled) or `data`. */
const loadData = (config: TrainConfig): RunData => {
  const r = loadDataset(idxDataset(config), { ...(config.data === null ? {} : { dir: config.data }), trainSize: config.trainSize, testSize: config.testSize });
  if (isLeft(r)) throw r.left;
  const { train, test, title, classNames } = r.right;
  return { train: { x: train.images, targets: train.labels }, test: { x: test.images, targets: test.labels }, title, classNames };
};

/** The config's `augment` recipe as a transform; undefined for none. */
const augmentOf = (config: TrainConfig) => {
  const r = parseAugment(config.augment);
  if (isLeft(r)) throw new UsageError(`augment: ${r.left}`);
  return augmentation(r.right);
};

const buildOptimizer = (config: TrainConfig): AnyOptimizer => {
  const r = optimizerFromName(config.optimizer.type, optimizerHyper(config));
  if (isLeft(r)) throw new UsageError(`optimizer: ${r.left.message}`);
  return r.right;
};

/** What an evaluation measures; the row adds its step and the mean batch loss since the one before. */
type Measured = Omit<MetricsRow, 'step' | 'loss'>;

/** The history a run goes on from: every evaluation and step loss known up to its first step. */
interface PriorHistory {
  readonly rows: readonly MetricsRow[];
  readonly stepLosses: readonly StepLoss[];
  /** The seconds the run had taken (elapsed_s goes on from there). */
  readonly elapsed: number;
  /** The evaluation window open at the checkpoint, when it carries one. */
  readonly window: LossWindow | undefined;
}

/**
 * A run-history file's text, or undefined when it is missing or anything but a regular file (never
 * through a link); one over MAX_METRICS_BYTES is refused rather than read whole.
 */
const readIfRegular = (file: string): string | undefined => {
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() !== true) return undefined;
  const r = readRegularFile(file, MAX_METRICS_BYTES);
  if (isLeft(r)) {
    if (r.left.kind === 'too-large') throw new UsageError(`${file}: ${r.left.detail}`);
    return undefined;
  }
  return new TextDecoder().decode(r.right);
};

/**
 * The history of the run a checkpoint belongs to, up to its step: the metrics.jsonl and
 * losses.jsonl of its folder (the whole history, when they are there), then the evaluations the
 * checkpoint itself carries past them. When the steps before are not all known (the folder is
 * gone, or from a foldnet that kept less), `note` says what the charts will lack.
 */
const priorHistory = (checkpoint: TrainCheckpoint, checkpointFile: string, step: number, note: (line: string) => void, shownDir: string): PriorHistory => {
  const carry = runCarryOf(checkpoint.metrics);
  const dir = path.dirname(checkpointFile);
  const folderRows = parseJsonLines(readIfRegular(path.join(dir, 'metrics.jsonl')) ?? '').filter((r) => r.step <= step);
  const lastFolderStep = folderRows[folderRows.length - 1]?.step ?? 0;
  const rows = [...folderRows, ...carry.rows.filter((r) => r.step > lastFolderStep && r.step <= step)];
  const stepLosses = parseStepLosses(readIfRegular(path.join(dir, 'losses.jsonl')) ?? '').filter((p) => p.step <= step);
  const missingRows = rows.length < carry.evaluations;
  const missingLosses = stepLosses.length < step;
  if (missingRows || missingLosses) {
    note(
      `note: ${shownDir} does not hold the whole history of steps 1-${step} (metrics.jsonl, losses.jsonl): ` +
        `the charts show ${missingRows ? `the last ${rows.length} of ${carry.evaluations} evaluations` : 'every evaluation'} ` +
        `and ${missingLosses ? `batch losses from step ${stepLosses[0]?.step ?? step + 1}` : 'every batch loss'}`,
    );
  }
  return { rows, stepLosses, elapsed: carry.elapsed_s, window: carry.window };
};

/** Exit codes of a run stopped by a signal, 128 + its number as shells report it, and how the message names it. */
const stopSignals: Readonly<Record<InterruptSignal, { readonly code: number; readonly said: string }>> = {
  SIGINT: { code: 130, said: 'interrupted' },
  SIGHUP: { code: 129, said: 'stopped by SIGHUP' },
  SIGTERM: { code: 143, said: 'stopped by SIGTERM' },
};

/**
 * `foldnet train`: resolves the config, opens the run folder (refusing one it must not write
 * into, see openRunFolder), trains with progress output and an evaluation line every `evalEvery`
 * steps, and writes the run folder (config.json, metrics.jsonl/csv, losses.jsonl, the checkpoint,
 * the charts and report.html), then prints what it wrote.
 *
 * Training is the library's fold: `scan` steps through the batches (stopping on a non-finite step
 * unless --on-nan skip), and observers, reducers over the states, say when to evaluate and to save
 * a checkpoint, stop on a signal, count skipped steps and keep the loss curve. This function does
 * what they say is due: it prints, and writes files.
 *
 * The folder keeps the history as far as its checkpoint: before each checkpoint is written, the
 * evaluations and step losses since the last one are appended to metrics.jsonl/.csv and
 * losses.jsonl. A resumed run reads them back (priorHistory), so its curves, elapsed_s and the
 * first evaluation window go on as if the run had never stopped.
 */
export const trainCommand = async (opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const loaded = loadTrainConfig(opts, io);
  const { checkpoint } = loaded;
  if (loaded.config.format === 'idx' && (loaded.config.imageSize !== null || loaded.config.channels !== null)) {
    throw new UsageError('--image-size and --channels say how an image folder is read: give them with --format folder (IDX images keep their own size and channels)');
  }
  if (loaded.config.format === 'folder' && opts['dataset'] !== undefined) {
    throw new UsageError('--dataset names an IDX dataset (mnist, fashion); --format folder trains on the images of --data <dir>: give one or the other');
  }
  // An image folder (--format folder) is read as far as its headers first: the model is built for its
  // images and classes, and the run counts the images it holds.
  const imageFolder = loaded.config.format === 'folder' ? scanFolderData(loaded.config, 'both', (line) => io.out(`${line}\n`)) : undefined;
  if (imageFolder !== undefined) io.out(`${folderUsage(imageFolder, loaded.sizesByDefault)}\n`);
  const input = imageFolder === undefined ? undefined : folderModelInput(imageFolder);
  const resumed = checkpoint === undefined ? undefined : resumedModel(checkpoint, loaded.config.model, opts, io, input);
  const counted = imageFolder === undefined ? loaded.config : withFolderSettings(loaded.config, imageFolder);
  const config = resumed === undefined ? counted : { ...counted, model: resumed.model };
  const { network, name } = resumed ?? loadModel(config.model, io.cwd, config.weightInit, input);
  // Nothing, not even the run folder, for a dataset that is not there
  if (config.data === null && config.format === 'idx') expectDatasetInstalled(idxDataset(config));
  // Before the params, optimizer state or data are allocated: the run's memory from the shape rules, with
  // the most images it will load (trainSize + testSize).
  refuseTrainingOverMemory(network, name, config.batchSize, config.optimizer.type, config.trainSize + config.testSize, memoryLimit(io.env));

  let optimizer: AnyOptimizer;
  let state0: TrainState<unknown>;
  const [modelKey, dataKey] = split(key(config.seed));
  if (checkpoint === undefined) {
    optimizer = buildOptimizer(config);
    state0 = initTrainState(network, optimizer, modelKey);
  } else {
    const restored = restoreTrainState(checkpoint, network);
    // The resolved settings drive the rest of the run: the checkpoint's own unless given anew (--lr, --momentum,
    // a config file); the optimizer's state goes on when it is the same kind, else starts from zeros.
    optimizer = buildOptimizer(config);
    state0 = restored.optimizer.name === optimizer.name ? restored.state : { ...restored.state, opt: optimizer.init(restored.state.params) };
    if (state0.step >= config.iters) {
      throw new UsageError(`--resume: the checkpoint is at step ${state0.step} and the run ends at step ${config.iters}: give --iters greater than ${state0.step} to continue (--iters counts the run's total steps)`);
    }
  }

  // The folder before the data: a folder that is refused (foreign, holding a run, locked) is refused at once.
  const note = (line: string): void => io.out(`${line}\n`);
  const from = checkpoint === undefined ? undefined : { checkpoint, file: path.resolve(io.cwd, checkpoint.file) };
  const folder = openRunFolder({
    cwd: io.cwd,
    out: config.out,
    ...(from === undefined ? {} : { resume: from.file }),
    overwrite: opts['overwrite'] === true,
    model: modelShortName(config.model),
    now: new Date(),
    note,
  });
  try {
    await trainInFolder(folder, { config, network, name, optimizer, state0, dataKey, from, imageFolder }, io, opts);
  } finally {
    folder.release();
  }
};

/** What `trainCommand` resolved before opening the folder. */
interface ResolvedRun {
  readonly config: TrainConfig;
  readonly network: Network;
  readonly name: string;
  readonly optimizer: AnyOptimizer;
  readonly state0: TrainState<unknown>;
  readonly dataKey: ReturnType<typeof split>[number];
  /** The checkpoint resumed, and its file (absolute). */
  readonly from: { readonly checkpoint: TrainCheckpoint; readonly file: string } | undefined;
  /** The image folder trained on (--format folder), read as far as its headers. */
  readonly imageFolder: ImageFolderScan | undefined;
}

const trainInFolder = async (folder: OpenRunFolder, run: ResolvedRun, io: Io, opts: Readonly<Record<string, unknown>>): Promise<void> => {
  const { config, network, name, optimizer, state0, dataKey, from, imageFolder } = run;
  const { dir } = folder;
  // Printed paths can be pasted back where the user stands: absolute where the user gave them absolute.
  const shownDir = shownPath(io.cwd, dir, optString(opts, 'out') ?? (from === undefined ? undefined : optString(opts, 'resume')));
  setBackend(config.backend);
  if (config.threads !== null) setThreads(config.threads);
  const raw = imageFolder === undefined ? loadData(config) : { ...decodeFolderData(imageFolder, 'both'), title: folderTitle(imageFolder.dir), classNames: imageFolder.classNames };
  // --normalize: every input mapped by the training images' statistics (a resumed run keeps its checkpoint's)
  const stats = runNormalization(config, from?.checkpoint, raw.train.x);
  const data = { ...raw, train: normalizedSet(raw.train, stats), test: normalizedSet(raw.test, stats) };
  const dataInfo = checkpointDataInfo(imageFolder?.classNames, stats);

  const prior: PriorHistory =
    from === undefined
      ? { rows: [], stepLosses: [], elapsed: 0, window: undefined }
      : priorHistory(from.checkpoint, from.file, state0.step, (line) => io.out(`${line}\n`), shownPath(io.cwd, path.dirname(from.file), optString(opts, 'resume')));
  if (from !== undefined) {
    io.out(folder.continuing ? `continuing the run in ${shownDir}${path.sep}: its metrics and charts go on from step ${state0.step}\n` : `the resumed run writes ${shownDir}${path.sep}\n`);
  }
  // The folder starts with the history up to the first step, whole (a line a crash cut short, or
  // steps past the checkpoint, are gone); the run appends to it from there.
  writeRunFile(dir, 'config.json', runConfigJson(config, dataInfo));
  writeRunFile(dir, 'metrics.jsonl', toJsonLines(prior.rows));
  writeRunFile(dir, 'metrics.csv', toCsv(prior.rows));
  writeRunFile(dir, 'losses.jsonl', stepLossLines(prior.stepLosses));

  const indexStream =
    config.epochs === null
      ? sampleWithReplacement({ key: dataKey, n: config.trainSize, batchSize: config.batchSize, steps: config.iters })
      : shuffledEpochs({ key: dataKey, n: config.trainSize, batchSize: config.batchSize, epochs: config.epochs });
  const batches = batchesOf(data.train, indexStream).from(state0.step);

  // elapsed_s goes on from the checkpoint's: the seconds of the whole run, across resumes
  const started = Date.now();
  const elapsed = (): number => prior.elapsed + (Date.now() - started) / 1000;
  const loss = lossOf(config);
  const measure = (s: TrainState<unknown>): Measured => {
    const tr = evaluate(network, s.params, s.layerState, data.train, { loss });
    const te = evaluate(network, s.params, s.layerState, data.test, { loss });
    return { train_acc: tr.accuracy, test_acc: te.accuracy, test_loss: te.loss, elapsed_s: Math.round(elapsed() * 1000) / 1000 };
  };

  io.out(
    `training ${name} (${totalParams(network).toLocaleString('en-US')} params) on ${config.trainSize}/${config.testSize} ${imageFolder !== undefined ? data.title : `${config.dataset === 'mnist' ? '' : `${data.title} `}images`}` +
      `${imageFolder === undefined ? '' : ` (${folderSummary(imageFolder, config.testFraction)})`}${stats === undefined ? '' : ' normalised per channel'}` +
      `${config.augment === 'none' ? '' : ` augmented ${config.augment}`}${config.loss === 'ce' ? '' : `, loss ${config.loss}`}: ` +
      `${config.iters} steps of ${config.batchSize}, ${config.optimizer.type} lr ${config.optimizer.lr}${config.lrSchedule === 'constant' ? '' : ` (${config.lrSchedule} schedule)`}` +
      `${config.weightDecay === 0 ? '' : `, weight decay ${config.weightDecay} on ${config.decayParams === 'all' ? 'every param' : 'the weights'}`}${config.clipNorm === null ? '' : `, gradients clipped to norm ${config.clipNorm}`}, ${config.backend} kernels, ${getThreads()} thread(s)` +
      `${from === undefined ? '' : `, resuming at step ${state0.step} of ${config.iters}`}\n`,
  );
  const checkpointFile = path.join(dir, 'checkpoint.safetensors');
  const shown = path.join(shownDir, 'checkpoint.safetensors');
  const display = createProgress({ total: config.iters, startStep: state0.step, tty: io.stdoutIsTTY, write: io.out, stream: io.stdout });
  const rows: MetricsRow[] = [...prior.rows];
  // The open evaluation window: the finite batch losses since the last evaluation, as a running sum.
  // It starts as the checkpoint left it (a resume mid-interval averages the whole interval).
  let window: LossWindow = prior.window ?? { after: prior.rows[prior.rows.length - 1]?.step ?? state0.step, sum: 0, count: 0 };
  let windowUpTo = state0.step;
  // What the folder's files hold so far: rows[0, flushedRows) and the step losses up to flushedStep.
  let flushedRows = rows.length;
  let flushedStep = state0.step;
  const newLosses = (losses: LossHistory | undefined, after: number): StepLoss[] => {
    const points: StepLoss[] = [];
    for (let h = losses; h !== undefined && h.step > after; h = h.earlier) points.push({ step: h.step, loss: h.loss });
    return points.reverse();
  };
  // Appends the evaluations and step losses since the last flush (before a checkpoint, so the folder's history reaches it).
  const flush = (losses: LossHistory | undefined): void => {
    const fresh = rows.slice(flushedRows);
    appendRunFile(dir, 'losses.jsonl', stepLossLines(newLosses(losses, flushedStep)));
    appendRunFile(dir, 'metrics.csv', toCsv(fresh).split('\n').slice(1).join('\n'));
    appendRunFile(dir, 'metrics.jsonl', toJsonLines(fresh));
    flushedRows = rows.length;
    flushedStep = losses?.step ?? flushedStep;
  };
  const advanceWindow = (losses: LossHistory | undefined, upTo: number): void => {
    window = extendWindow(window, newLosses(losses, windowUpTo).filter((p) => p.step <= upTo));
    windowUpTo = upTo;
  };
  const save = (s: TrainState<unknown>, losses: LossHistory | undefined): void => {
    flush(losses);
    advanceWindow(losses, s.step);
    writeTrainCheckpoint(checkpointFile, network, optimizer, s, config, runCarryJson(runCarry(rows, window, elapsed())), dataInfo);
  };
  // The rows of the evaluations made since the last call, each with the mean batch loss of its
  // window (the steps since the evaluation before it), printed as they are added.
  // A stalled run says so once: a whole evaluation period (at least 100 steps) within 1% of the first loss.
  let stallTold = false;
  let seen = 0;
  const addRows = (log: EvaluationLog<Measured>, losses: LossHistory | undefined, print: (line: string) => void): void => {
    for (; seen < log.history.length; seen++) {
      const { step, metrics } = log.history[seen];
      const since = window.after;
      advanceWindow(losses, step);
      const row: MetricsRow = { step, loss: windowMean(window), ...metrics };
      window = { after: step, sum: 0, count: 0 };
      rows.push(row);
      print(evaluationLine(row));
      if (!stallTold && lossStalledAfter(losses, since, { minSteps: 100, tolerance: 0.01 })) {
        stallTold = true;
        print(
          `warning: the training loss has stayed within 1% of its first value (${row.loss.toFixed(4)}) for steps ${since + 1}-${step}: ` +
            'the weights may start too small for this optimizer (try --weight-init he) or the learning rate may be off (--lr)',
        );
      }
    }
  };

  // Ctrl-C (SIGINT), SIGTERM and SIGHUP abort: training stops after the step under way (the loop
  // awaits after each one, so the signal is heard), the final evaluation is skipped, the state
  // reached is saved and the command exits 128 + the signal's number. Another signal meanwhile changes nothing.
  const interrupt = new AbortController();
  let stoppedBy: InterruptSignal = 'SIGINT';
  const watch = combine(
    // an evaluation at each evalEvery steps and at the run's last step; null checkpointEvery: a
    // checkpoint at each evaluation, so the saved state and the saved curve end at the same step
    abortable(periodicEvaluation({ every: config.evalEvery, total: config.iters, evaluate: measure }), interrupt.signal),
    combine(periodicCheckpoint({ every: config.checkpointEvery ?? config.evalEvery, total: config.iters }), combine(progress({ total: config.iters }), combine(numericFaults(), lossHistory()))),
  );
  // Follows the run, doing what is due after each step; returns the final observation.
  const followSteps = async () => {
    try {
      return await followObserved(trainStep(network, optimizer, { lrSchedule: lrScheduleOf(config), augment: augmentOf(config), loss, ...(config.clipNorm === null ? {} : { clipNorm: config.clipNorm }) }), state0, batches, watch, async ({ state, acc }) => {
        const [evaluations, [saving, [shownProgress, [faults, losses]]]] = acc;
        if (shownProgress.event !== undefined) display.step(shownProgress.event.step, shownProgress.event.loss);
        if (faults.latest !== undefined) {
          // --on-nan stop: the stream ends with this state; the end evaluates and saves it
          if (config.onNan === 'stop') return;
          if (faults.count <= 5) display.log(`warning: ${faults.latest.message}; step skipped${faults.count === 5 ? ' (further warnings not shown)' : ''}`);
        }
        addRows(evaluations.inner, losses, display.log);
        if (saving.due) save(state, losses);
        // Let the terminal bar repaint (cli-progress draws on timers) and a signal be heard.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }, { onFault: config.onNan });
    } finally {
      display.stop();
    }
  };
  const unwatch = io.onInterrupt?.((signal) => {
    if (!interrupt.signal.aborted) stoppedBy = signal;
    interrupt.abort();
  });
  const final = await followSteps().finally(() => unwatch?.());
  const { state: last, acc: [evaluations, [, [, [faults, losses]]]] } = final;
  if (evaluations.aborted) {
    save(last, losses);
    const { code, said } = stopSignals[stoppedBy];
    throw new Interrupted(`${said} at step ${last.step} of ${config.iters}: saved ${shown} (continue with: ${resumeCommand(io, shown, opts)})`, code);
  }
  addRows(evaluations.inner, losses, (line) => io.out(`${line}\n`));

  if (!findFonts().any) io.err('foldnet train: warning: no font found in the system font folders, so the chart PNGs have no text (install e.g. fonts-dejavu-core); the SVGs are complete\n');
  const stepLosses = [...prior.stepLosses, ...lossPoints(losses)];
  const written = await writeRunFiles(dir, {
    config, name, network, state: last, optimizer, rows, stepLosses, test: data.test, seconds: elapsed(), faults: faults.count, cwd: io.cwd, program: io.command,
    ...(imageFolder === undefined ? {} : { data: { title: data.title, classNames: data.classNames, summary: `${folderSummary(imageFolder, config.testFraction)}; ${folderCounts(imageFolder)}` } }),
    ...(dataInfo === undefined ? {} : { dataInfo }),
    ...(stats === undefined ? {} : { shownImages: raw.test.x }),
  });

  io.out(`wrote ${shownDir}${path.sep}\n${written.map((f) => `  ${path.join(shownDir, path.relative(dir, f))}\n`).join('')}`);
  if (config.onNan === 'stop' && last.fault !== undefined) {
    throw new CheckFailed(`training stopped: ${last.fault.message} (--on-nan skip skips such steps instead; the checkpoint holds the last finite state)`);
  }
  // --on-nan skip that skipped every step trained nothing: that is no success (the files are written all the same)
  if (last.fault !== undefined && faults.count === last.step - state0.step) {
    throw new CheckFailed(`training failed: all ${faults.count} steps were skipped, so nothing was trained (the last: ${last.fault.message}); the checkpoint holds the state the run started from`);
  }
};
