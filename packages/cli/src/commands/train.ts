import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, setBackend, setThreads, getThreads, split, type Tensor } from '@foldnet/core';
import type { Network } from '@foldnet/layers';
import {
  abortable, augmentation, batchesOf, combine, constantLr, cosineDecay, evaluate, followObserved, initTrainState, loadDataset, lossHistory, parseAugment, lossPoints, lossStalledAfter, meanLossAfter,
  numericFaults, optimizerFromName, periodicCheckpoint, periodicEvaluation, progress, sampleWithReplacement, shuffledEpochs, stepDecay, trainStep,
  type AnyOptimizer, type EvaluationLog, type LossHistory, type LrSchedule, type TrainState,
} from '@foldnet/train';
import { readTrainCheckpoint, restoreTrainState, writeTrainCheckpoint, type TrainCheckpoint } from '../checkpoint.js';
import { parseLrSchedule } from '../codecs.js';
import { absoluteLayer, decodeTrainConfigFile, overlayTrainConfig, resolveTrainConfig, trainFlagsOf, type TrainConfig, type TrainConfigFile } from '../config.js';
import { CheckFailed, Interrupted, UsageError } from '../errors.js';
import { optString } from '../flags.js';
import { readUserJson, type Io } from '../io.js';
import { expectDatasetInstalled } from './common.js';
import { evaluationLine, parseJsonLines, toCsv, toJsonLines, type MetricsRow } from '../metrics.js';
import { loadModel, modelShortName, networkFromSpec, totalParams, type LoadedModel } from '../models.js';
import { summary } from '@foldnet/layers';
import { trainCommandLine } from '../commandline.js';
import { accuracyChartSpec, findFonts, lossChartSpec, lrChartSpec, lrCurve, renderChart, renderSvg, type StepLoss } from '../plots.js';
import { predictAll, firstConvFilters, misclassifiedOf } from '../predictions.js';
import { createProgress } from '../progress.js';
import { renderReport } from '../report.js';
import { createRunFolder, removeStaleTempFiles, writeRunFile } from '../runfolder.js';

/**
 * The config a checkpoint was trained with, as a config file layer (its run folder and resume
 * path dropped; its own way of counting steps kept).
 */
const checkpointConfigLayer = (ckpt: TrainCheckpoint): TrainConfigFile => {
  const saved = ckpt.config;
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return {};
  const entries = Object.entries(saved).filter(([k, v]) => k !== 'out' && k !== 'resume' && !(k === 'epochs' && v === null));
  const hasEpochs = entries.some(([k]) => k === 'epochs');
  const cleaned = Object.fromEntries(entries.filter(([k]) => !(hasEpochs && k === 'iters')));
  const decoded = decodeTrainConfigFile(cleaned);
  if (isLeft(decoded)) throw new UsageError(`${ckpt.file}: its saved config: ${decoded.left}`);
  return decoded.right;
};

/**
 * Resolves the training config: defaults < the resumed checkpoint's config < --config file < flags.
 * Returns the checkpoint too when resuming.
 *
 * @example
 * const { config, checkpoint } = loadTrainConfig({ iters: 20, resume: 'runs/a/checkpoint.safetensors' }, nodeIo());
 */
export const loadTrainConfig = (opts: Readonly<Record<string, unknown>>, io: Io): { readonly config: TrainConfig; readonly checkpoint: TrainCheckpoint | undefined } => {
  const flags = trainFlagsOf(opts);
  const configPath = optString(opts, 'config');
  let file: TrainConfigFile = {};
  if (configPath !== undefined) {
    const decoded = decodeTrainConfigFile(readUserJson(io.cwd, configPath, '--config'));
    if (isLeft(decoded)) throw new UsageError(`${configPath}: ${decoded.left}`);
    file = absoluteLayer(decoded.right, path.dirname(path.resolve(io.cwd, configPath)));
  }
  const resume = typeof flags.resume === 'string' ? path.resolve(io.cwd, flags.resume) : (file.resume ?? undefined);
  const checkpoint = resume === undefined ? undefined : readTrainCheckpoint(path.relative(io.cwd, resume) || resume, io.cwd);
  const layered = checkpoint === undefined ? file : overlayTrainConfig(checkpointConfigLayer(checkpoint), file);
  return { config: resolveTrainConfig(layered, io.cwd, flags, io.cwd), checkpoint };
};

/**
 * The network a resumed run continues: the one rebuilt from the model spec stored in its checkpoint (a checkpoint
 * alone is enough: the spec file it came from may be gone or edited since), unless `--model` names one, which the
 * checkpoint's params must then fit (a mismatch is refused, naming the param and both shapes).
 */
const resumedModel = (checkpoint: TrainCheckpoint, configured: string, opts: Readonly<Record<string, unknown>>, io: Io): LoadedModel & { readonly model: string } => {
  const given = optString(opts, 'model');
  if (given !== undefined) return { ...loadModel(given, io.cwd), model: configured };
  const saved = checkpoint.config;
  const savedModel = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? Reflect.get(saved, 'model') : undefined;
  const model = typeof savedModel === 'string' ? savedModel : configured;
  return { network: networkFromSpec(checkpoint.model, `${checkpoint.file}: its model spec`), name: modelShortName(model), model };
};

/** The data a run trains and evaluates on. */
interface RunData {
  readonly train: { readonly x: Tensor; readonly targets: Int32Array };
  readonly test: { readonly x: Tensor; readonly targets: Int32Array };
  /** 'MNIST', 'Fashion-MNIST'. */
  readonly title: string;
  readonly classNames: readonly string[];
}

/** The config's dataset, from its own place or `data`; a dataset not installed is one line saying how to get it. */
const loadData = (config: TrainConfig): RunData => {
  if (config.data === null) expectDatasetInstalled(config.dataset);
  const r = loadDataset(config.dataset, { ...(config.data === null ? {} : { dir: config.data }), trainSize: config.trainSize, testSize: config.testSize });
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
  const r = optimizerFromName(config.optimizer.type, { lr: config.optimizer.lr, weightDecay: config.weightDecay });
  if (isLeft(r)) throw new UsageError(`optimizer: ${r.left.message}`);
  return r.right;
};

/** The config's `lrSchedule` text as a schedule over the run's `iters` steps. */
const lrScheduleOf = (config: TrainConfig): LrSchedule => {
  const r = parseLrSchedule(config.lrSchedule);
  if (isLeft(r)) throw new UsageError(`lrSchedule: ${r.left}`);
  const s = r.right;
  if (s.kind === 'step') return stepDecay(s.at);
  return s.kind === 'cosine' ? cosineDecay(config.iters) : constantLr;
};

/** What an evaluation measures; the row adds its step and the mean batch loss since the one before. */
type Measured = Omit<MetricsRow, 'step' | 'loss'>;

/**
 * `foldnet train`: resolves the config, trains with progress output and an evaluation line every
 * `evalEvery` steps, and writes the run folder (config.json, metrics.jsonl/csv, the checkpoint,
 * the charts and report.html), then prints what it wrote.
 *
 * Training is the library's fold: `scan` steps through the batches (stopping on a non-finite step
 * unless --on-nan skip), and observers, reducers over the states, say when to evaluate and to save
 * a checkpoint, stop on Ctrl-C, count skipped steps and keep the loss curve. This function does
 * what they say is due: it prints, and writes files.
 */
export const trainCommand = async (opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const loaded = loadTrainConfig(opts, io);
  const { checkpoint } = loaded;
  const resumed = checkpoint === undefined ? undefined : resumedModel(checkpoint, loaded.config.model, opts, io);
  const config = resumed === undefined ? loaded.config : { ...loaded.config, model: resumed.model };
  const { network, name } = resumed ?? loadModel(config.model, io.cwd, config.weightInit);
  setBackend(config.backend);
  if (config.threads !== null) setThreads(config.threads);
  const data = loadData(config);

  let optimizer: AnyOptimizer;
  let state0: TrainState<unknown>;
  const [modelKey, dataKey] = split(key(config.seed));
  if (checkpoint === undefined) {
    optimizer = buildOptimizer(config);
    state0 = initTrainState(network, optimizer, modelKey);
  } else {
    ({ optimizer, state: state0 } = restoreTrainState(checkpoint, network));
    if (optimizer.name !== config.optimizer.type) optimizer = buildOptimizer(config);
    if (state0.step >= config.iters) {
      throw new UsageError(`--resume: the checkpoint is at step ${state0.step} and the run ends at step ${config.iters}: give --iters greater than ${state0.step} to continue`);
    }
  }

  const dir = createRunFolder(io.cwd, config.out, modelShortName(config.model), new Date());
  // A run killed mid-write in this folder (e.g. the one being resumed) left its temporary file.
  removeStaleTempFiles(dir, 'checkpoint.safetensors');
  const written: string[] = [writeRunFile(dir, 'config.json', `${JSON.stringify(config, null, 2)}\n`)];

  // Earlier evaluations of the run being resumed, so the curves go on from where it stopped: those
  // saved in the checkpoint itself, else the metrics.jsonl beside it.
  const priorRows: MetricsRow[] =
    checkpoint === undefined ? [] : (checkpointRows(checkpoint, state0.step) ?? readPriorRows(path.resolve(io.cwd, checkpoint.file), state0.step));

  const indexStream =
    config.epochs === null
      ? sampleWithReplacement({ key: dataKey, n: config.trainSize, batchSize: config.batchSize, steps: config.iters })
      : shuffledEpochs({ key: dataKey, n: config.trainSize, batchSize: config.batchSize, epochs: config.epochs });
  const batches = batchesOf(data.train, indexStream).from(state0.step);

  const started = Date.now();
  const elapsed = (): number => (Date.now() - started) / 1000;
  const measure = (s: TrainState<unknown>): Measured => {
    const tr = evaluate(network, s.params, s.layerState, data.train);
    const te = evaluate(network, s.params, s.layerState, data.test);
    return { train_acc: tr.accuracy, test_acc: te.accuracy, test_loss: te.loss, elapsed_s: Math.round(elapsed() * 1000) / 1000 };
  };

  io.out(
    `training ${name} (${totalParams(network).toLocaleString('en-US')} params) on ${config.trainSize}/${config.testSize} ${config.dataset === 'mnist' ? '' : `${data.title} `}images` +
      `${config.augment === 'none' ? '' : ` augmented ${config.augment}`}: ` +
      `${config.iters} steps of ${config.batchSize}, ${config.optimizer.type} lr ${config.optimizer.lr}${config.lrSchedule === 'constant' ? '' : ` (${config.lrSchedule} schedule)`}, ${config.backend} kernels, ${getThreads()} thread(s)` +
      `${checkpoint === undefined ? '' : `, resuming at step ${state0.step}`}\n`,
  );
  const checkpointFile = path.join(dir, 'checkpoint.safetensors');
  const shown = path.relative(io.cwd, checkpointFile) || checkpointFile;
  const display = createProgress({ total: config.iters, startStep: state0.step, tty: io.stdoutIsTTY, write: io.out, stream: io.stdout });
  const rows: MetricsRow[] = [...priorRows];
  const save = (s: TrainState<unknown>): void => {
    writeTrainCheckpoint(checkpointFile, network, optimizer, s, config, rows);
  };
  // The rows of the evaluations made since the last call, each with the mean batch loss since the
  // evaluation before it (or since the run's first step), printed as they are added.
  // A stalled run says so once: a whole evaluation period (at least 100 steps) within 1% of the first loss.
  let stallTold = false;
  const addRows = (log: EvaluationLog<Measured>, losses: LossHistory | undefined, print: (line: string) => void): void => {
    for (let i = rows.length - priorRows.length; i < log.history.length; i++) {
      const { step, metrics } = log.history[i];
      const since = i === 0 ? state0.step : log.history[i - 1].step;
      const row: MetricsRow = { step, loss: meanLossAfter(losses, since), ...metrics };
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

  // Ctrl-C aborts: training stops after the step under way (the loop awaits after each one, so the
  // signal is heard), the final evaluation is skipped, the state reached is saved and the command
  // exits 130. A second Ctrl-C meanwhile changes nothing.
  const interrupt = new AbortController();
  const watch = combine(
    // an evaluation at each evalEvery steps and at the run's last step; null checkpointEvery: a
    // checkpoint at each evaluation, so the saved state and the saved curve end at the same step
    abortable(periodicEvaluation({ every: config.evalEvery, total: config.iters, evaluate: measure }), interrupt.signal),
    combine(periodicCheckpoint({ every: config.checkpointEvery ?? config.evalEvery, total: config.iters }), combine(progress({ total: config.iters }), combine(numericFaults(), lossHistory()))),
  );
  // Follows the run, doing what is due after each step; returns the final observation.
  const followSteps = async () => {
    try {
      return await followObserved(trainStep(network, optimizer, { lrSchedule: lrScheduleOf(config), augment: augmentOf(config) }), state0, batches, watch, async ({ state, acc }) => {
        const [evaluations, [saving, [shownProgress, [faults, losses]]]] = acc;
        if (shownProgress.event !== undefined) display.step(shownProgress.event.step, shownProgress.event.loss);
        if (faults.latest !== undefined) {
          // --on-nan stop: the stream ends with this state; the end evaluates and saves it
          if (config.onNan === 'stop') return;
          if (faults.count <= 5) display.log(`warning: ${faults.latest.message}; step skipped${faults.count === 5 ? ' (further warnings not shown)' : ''}`);
        }
        addRows(evaluations.inner, losses, display.log);
        if (saving.due) save(state);
        // Let the terminal bar repaint (cli-progress draws on timers) and a Ctrl-C be heard.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }, { onFault: config.onNan });
    } finally {
      display.stop();
    }
  };
  // The end of the run: the state reached is saved and the metrics written; returns the final observation.
  const finish = async () => {
    const final = await followSteps();
    const { state: last, acc: [evaluations, [saving, [, [, losses]]]] } = final;
    if (evaluations.aborted) {
      if (saving.due) save(last);
      writeRunFile(dir, 'metrics.jsonl', toJsonLines(rows));
      writeRunFile(dir, 'metrics.csv', toCsv(rows));
      throw new Interrupted(`interrupted at step ${last.step} of ${config.iters}: saved ${shown} (continue with: foldnet train --resume ${shown})`);
    }
    addRows(evaluations.inner, losses, (line) => io.out(`${line}\n`));
    written.push(writeRunFile(dir, 'metrics.jsonl', toJsonLines(rows)));
    written.push(writeRunFile(dir, 'metrics.csv', toCsv(rows)));
    if (saving.due) save(last);
    written.push(checkpointFile);
    return final;
  };
  const unwatch = io.onInterrupt?.(() => interrupt.abort());
  const { state: last, acc: [, [, [, [faults, losses]]]] } = await finish().finally(() => unwatch?.());

  if (!findFonts().any) io.err('foldnet train: warning: no font found in the system font folders, so the chart PNGs have no text (install e.g. fonts-dejavu-core); the SVGs are complete\n');
  written.push(...(await writeChartsAndReport(dir, { config, name, network, last, rows, stepLosses: lossPoints(losses), data, seconds: elapsed(), faults: faults.count, cwd: io.cwd })));

  io.out(`wrote ${path.relative(io.cwd, dir) || '.'}${path.sep}\n${written.map((f) => `  ${path.relative(io.cwd, f)}\n`).join('')}`);
  if (config.onNan === 'stop' && last.fault !== undefined) {
    throw new CheckFailed(`training stopped: ${last.fault.message} (--on-nan skip skips such steps instead; the checkpoint holds the last finite state)`);
  }
};

/** The evaluation rows a checkpoint carries in its metadata, up to its step; undefined when it has none. */
const checkpointRows = (ckpt: TrainCheckpoint, upTo: number): MetricsRow[] | undefined =>
  Array.isArray(ckpt.metrics)
    ? parseJsonLines(ckpt.metrics.map((r: unknown) => JSON.stringify(r) ?? '').join('\n')).filter((r) => r.step <= upTo)
    : undefined;

const readPriorRows = (checkpointFile: string, upTo: number): MetricsRow[] => {
  const metrics = path.join(path.dirname(checkpointFile), 'metrics.jsonl');
  try {
    return parseJsonLines(fs.readFileSync(metrics, 'utf8')).filter((r) => r.step <= upTo);
  } catch {
    return [];
  }
};

interface ReportInputs {
  readonly config: TrainConfig;
  readonly name: string;
  readonly network: Network;
  readonly last: TrainState<unknown>;
  readonly rows: readonly MetricsRow[];
  readonly stepLosses: readonly StepLoss[];
  readonly data: RunData;
  readonly seconds: number;
  readonly faults: number;
  /** Where the user stands: the report's command line gives paths from there. */
  readonly cwd: string;
}

/** The charts (SVG and PNG) and report.html of a finished run. Returns the paths written. */
const writeChartsAndReport = async (dir: string, r: ReportInputs): Promise<string[]> => {
  const sizes = { trainCount: r.data.train.targets.length, testCount: r.data.test.targets.length };
  const accuracy = await renderChart(accuracyChartSpec(r.rows, sizes));
  const loss = await renderChart(lossChartSpec(r.rows, r.stepLosses, sizes));
  const written = [
    writeRunFile(dir, 'accuracy.svg', accuracy.svg),
    writeRunFile(dir, 'accuracy.png', accuracy.png),
    writeRunFile(dir, 'loss.svg', loss.svg),
    writeRunFile(dir, 'loss.png', loss.png),
  ];
  const predictions = predictAll(r.network, r.last.params, r.last.layerState, r.data.test.x);
  const wrong = misclassifiedOf(predictions, r.data.test.x, r.data.test.targets, 48);
  const final = evaluate(r.network, r.last.params, r.last.layerState, r.data.test);
  const c = r.config;
  const html = renderReport({
    title: `${r.name}, seed ${c.seed}`,
    facts: [
      ['model', `${r.name} (${totalParams(r.network).toLocaleString('en-US')} params)`],
      ['optimizer', `${c.optimizer.type}, lr ${c.optimizer.lr}${c.lrSchedule === 'constant' ? '' : ` (${c.lrSchedule} schedule)`}${c.weightDecay > 0 ? `, weight decay ${c.weightDecay}` : ''}`],
      ['steps', `${r.last.step} of batch ${c.batchSize}${c.epochs === null ? '' : ` (${c.epochs} epochs)`}`],
      ['data', `${r.data.title}${c.data === null ? '' : ` from ${c.data}`}: ${c.trainSize} train / ${c.testSize} test`],
      ...(c.augment === 'none' ? [] : ([['augmentation', c.augment]] as const)),
      ['seed', String(c.seed)],
      ['kernels', `${c.backend}, ${getThreads()} thread(s)`],
      ...(r.faults > 0 ? ([['non-finite steps', String(r.faults)]] as const) : []),
    ],
    rows: r.rows,
    accuracySvg: accuracy.svg,
    lossSvg: loss.svg,
    confusion: final.confusion,
    classNames: r.data.classNames,
    filters: firstConvFilters(r.network, r.last.params),
    misclassified: wrong.shown,
    misclassifiedTotal: wrong.total,
    testCount: final.count,
    trainCount: sizes.trainCount,
    batchSize: c.batchSize,
    command: trainCommandLine(c, r.cwd),
    layerTable: summary(r.network),
    ...(c.lrSchedule === 'constant' ? {} : { lrSvg: await renderSvg(lrChartSpec(lrCurve(c.optimizer.lr, lrScheduleOf(c), c.iters))) }),
    seconds: r.seconds,
  });
  written.push(writeRunFile(dir, 'report.html', html));
  return written;
};

