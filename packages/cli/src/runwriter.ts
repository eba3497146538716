import * as path from 'node:path';
import { getThreads, type Tensor } from '@foldnet/core';
import { parseLoss, summary, type Loss, type Network } from '@foldnet/layers';
import { datasetInfo, evaluate, lrScheduleOver, type AnyOptimizer, type CheckpointDataInfo, type LrSchedule, type TrainState } from '@foldnet/train';
import { isLeft } from 'fp-ts/lib/Either.js';
import { writeTrainCheckpoint } from './checkpoint.js';
import { trainCommandLine } from './commandline.js';
import { UsageError } from './errors.js';
import { defaultTrainConfig, type TrainConfig } from './config.js';
import { extendWindow, runCarry, runCarryJson, stepLossLines, toCsv, toJsonLines, type MetricsRow, type RunCarry } from './metrics.js';
import { modelShortName, totalParams } from './models.js';
import { accuracyChartSpec, lossChartSpec, lrChartSpec, lrCurve, renderChart, renderSvg, type StepLoss } from './plots.js';
import { firstConvFilters, misclassifiedOf, predictAll } from './predictions.js';
import { renderReport } from './report.js';
import { openRunFolder, writeRunFile } from './runfolder.js';

/**
 * A training run as a run folder records it: what `foldnet train` writes at its end, and what a
 * program training with the API gives `writeRunFolder` to get the same folder.
 *
 * @example
 * const record: RunRecord = { config: { ...defaultTrainConfig, iters: 500 }, network: net, state: trained, optimizer: adam(), rows, stepLosses, test };
 */
export interface RunRecord {
  /** The run's settings, for config.json and the report's facts: `defaultTrainConfig` with what the run changed. */
  readonly config: TrainConfig;
  /** The model's name in the report's title (default: the config's model, shortened). */
  readonly name?: string;
  readonly network: Network;
  /** The state reached: its params and layer state are reported; with `optimizer`, saved as checkpoint.safetensors. */
  readonly state: TrainState<unknown>;
  /** The optimizer the state's `opt` belongs to: given, the folder gets a checkpoint `foldnet train --resume` continues. */
  readonly optimizer?: AnyOptimizer;
  /** Every evaluation, oldest first (metrics.jsonl, metrics.csv and the charts). */
  readonly rows: readonly MetricsRow[];
  /** Every step's batch loss, oldest first (losses.jsonl and the loss chart's batch curve). */
  readonly stepLosses?: readonly StepLoss[];
  /** The test set whose confusion matrix and misclassified digits the report shows. */
  readonly test: { readonly x: Tensor; readonly targets: Int32Array };
  /** Seconds the run took (the report's wall time, and where a resumed run's elapsed_s goes on from). */
  readonly seconds?: number;
  /** Steps skipped on a non-finite loss or gradient (shown in the report when any). */
  readonly faults?: number;
  /** Where the user stands: the report's command line gives paths from there (default: this process's directory). */
  readonly cwd?: string;
  /** How the user types foldnet (`pnpm foldnet` inside the repository; see typedCommand): the report's command line starts with it (default: `foldnet`). */
  readonly program?: string;
  /** The data when it is no named dataset (an image folder): its title, class names and how it was read (`summary`) for the report. */
  readonly data?: { readonly title: string; readonly classNames: readonly string[]; readonly summary?: string };
  /** What the checkpoint says of the inputs (class names, normalisation; see CheckpointDataInfo). */
  readonly dataInfo?: CheckpointDataInfo;
  /** The test images as the report draws them, when `test.x` holds them normalised. */
  readonly shownImages?: Tensor;
}

/**
 * The config's `lrSchedule` text as a schedule over the run's `iters` steps; after a warm-up, cosine decays over
 * the steps left and step boundaries count from the warm-up's end. A warm-up as long as the run is refused.
 */
export const lrScheduleOf = (config: TrainConfig): LrSchedule => {
  const r = lrScheduleOver(config.lrSchedule, config.iters);
  if (isLeft(r)) throw new UsageError(`lrSchedule: ${r.left}`);
  return r.right;
};

/** The config's `loss` text as a loss value. @example lossOf(defaultTrainConfig).text // 'ce' */
export const lossOf = (config: TrainConfig): Loss => {
  const r = parseLoss(config.loss);
  if (isLeft(r)) throw new UsageError(`loss: ${r.left}`);
  return r.right;
};

/**
 * What the checkpoint of a finished record carries: its rows, its seconds, and the window after
 * its last evaluation (empty when it ends on one).
 */
const carryOf = (r: RunRecord): RunCarry => {
  const after = r.rows[r.rows.length - 1]?.step ?? 0;
  return runCarry(r.rows, extendWindow({ after, sum: 0, count: 0 }, r.stepLosses ?? []), r.seconds ?? 0);
};

/**
 * config.json's text: the run's settings and, for a run on an image folder, the class names by label
 * (after `channels`, with the rest of what says how the folder was read), so the file alone says
 * what the run trained on.
 *
 * @example runConfigJson(config, { classNames: ['cat', 'dog'] }) // '{\n  "model": "simple", ... "channels": 3,\n  "classNames": ["cat", "dog"], ...'
 */
export const runConfigJson = (config: TrainConfig, dataInfo: CheckpointDataInfo | undefined): string => {
  const classNames = config.format === 'folder' ? dataInfo?.classNames : undefined;
  const entries = Object.entries(config).flatMap(([key, value]) => (key === 'channels' && classNames !== undefined ? [[key, value], ['classNames', classNames]] : [[key, value]]));
  return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
};

/**
 * Writes a run folder's files into `dir`, which the caller holds (see openRunFolder): config.json,
 * metrics.jsonl, metrics.csv, losses.jsonl, checkpoint.safetensors (with an optimizer), the
 * charts (SVG and PNG) and report.html, each atomically. Returns the paths written, in that order.
 */
export const writeRunFiles = async (dir: string, r: RunRecord): Promise<string[]> => {
  const c = r.config;
  const written = [
    writeRunFile(dir, 'config.json', runConfigJson(c, r.dataInfo)),
    writeRunFile(dir, 'metrics.jsonl', toJsonLines(r.rows)),
    writeRunFile(dir, 'metrics.csv', toCsv(r.rows)),
    writeRunFile(dir, 'losses.jsonl', stepLossLines(r.stepLosses ?? [])),
  ];
  // after the history it goes with: a folder's metrics always reach as far as its checkpoint
  if (r.optimizer !== undefined) written.push(writeTrainCheckpoint(path.join(dir, 'checkpoint.safetensors'), r.network, r.optimizer, r.state, c, runCarryJson(carryOf(r)), r.dataInfo));
  const sizes = { trainCount: c.trainSize, testCount: r.test.targets.length };
  const accuracy = await renderChart(accuracyChartSpec(r.rows, sizes));
  const loss = await renderChart(lossChartSpec(r.rows, r.stepLosses ?? [], sizes));
  written.push(
    writeRunFile(dir, 'accuracy.svg', accuracy.svg),
    writeRunFile(dir, 'accuracy.png', accuracy.png),
    writeRunFile(dir, 'loss.svg', loss.svg),
    writeRunFile(dir, 'loss.png', loss.png),
  );
  const { params, layerState } = r.state;
  const predictions = predictAll(r.network, params, layerState, r.test.x);
  const wrong = misclassifiedOf(predictions, r.shownImages ?? r.test.x, r.test.targets, 48);
  const final = evaluate(r.network, params, layerState, r.test, { loss: lossOf(c) });
  const name = r.name ?? modelShortName(c.model);
  const faults = r.faults ?? 0;
  const dataset = r.data ?? (c.dataset === null ? { title: `images of ${c.data ?? '?'}`, classNames: r.dataInfo?.classNames ?? [] } : datasetInfo(c.dataset));
  const html = renderReport({
    title: `${name}, seed ${c.seed}`,
    facts: [
      ['model', `${name} (${totalParams(r.network).toLocaleString('en-US')} params)`],
      ['optimizer', `${c.optimizer.type}, lr ${c.optimizer.lr}${c.lrSchedule === 'constant' ? '' : ` (${c.lrSchedule} schedule)`}${c.weightDecay > 0 ? `, weight decay ${c.weightDecay} on ${c.decayParams === 'all' ? 'every param' : 'the weights'}` : ''}${c.clipNorm === null ? '' : `, gradients clipped to norm ${c.clipNorm}`}`],
      ['steps', `${r.state.step} of batch ${c.batchSize}${c.epochs === null ? '' : ` (${c.epochs} epochs)`}`],
      ['data', `${dataset.title}${c.data === null || r.data !== undefined ? '' : ` from ${c.data}`}: ${c.trainSize} train / ${c.testSize} test${c.normalize ? ', normalised per channel' : ''}`],
      ...(r.data?.summary === undefined ? [] : ([['images', r.data.summary]] as const)),
      ...(c.augment === 'none' ? [] : ([['augmentation', c.augment]] as const)),
      ...(c.loss === 'ce' ? [] : ([['loss', c.loss]] as const)),
      ['seed', String(c.seed)],
      ['kernels', `${c.backend}, ${getThreads()} thread(s)`],
      ...(faults > 0 ? ([['non-finite steps', String(faults)]] as const) : []),
    ],
    rows: r.rows,
    accuracySvg: accuracy.svg,
    lossSvg: loss.svg,
    confusion: final.confusion,
    topK: { k: final.topK, accuracy: final.topKAccuracy },
    classNames: dataset.classNames,
    filters: firstConvFilters(r.network, params),
    misclassified: wrong.shown,
    misclassifiedTotal: wrong.total,
    testCount: final.count,
    trainCount: sizes.trainCount,
    batchSize: c.batchSize,
    command: trainCommandLine(c, r.cwd ?? process.cwd(), r.program),
    layerTable: summary(r.network),
    ...(c.lrSchedule === 'constant' ? {} : { lrSvg: await renderSvg(lrChartSpec(lrCurve(c.optimizer.lr, lrScheduleOf(c), c.iters))) }),
    seconds: r.seconds ?? 0,
  });
  written.push(writeRunFile(dir, 'report.html', html));
  return written;
};

/** Options of `writeRunFolder`. */
export interface WriteRunFolderOptions {
  /** Replace the run `dir` holds (its run files are removed first); without it such a folder is refused. */
  readonly overwrite?: boolean;
  /** Where notes go (a taken-over lock, what --overwrite removed); default: nowhere. */
  readonly note?: (line: string) => void;
}

/**
 * Writes the run folder `foldnet train` writes, from a run trained with the API: config.json,
 * metrics.jsonl/.csv, losses.jsonl, checkpoint.safetensors (when `record.optimizer` is given:
 * `foldnet eval`, `export` and `train --resume` then take it), accuracy and loss charts (SVG, PNG)
 * and report.html. `dir` is created if missing and locked while it is written; like `foldnet
 * train --out`, a folder that is not empty and not a run folder is refused, and so is one holding
 * a run unless `overwrite`. Returns the absolute paths written. Refusals throw a UsageError.
 *
 * @example
 * const files = await writeRunFolder('runs/mine', { config: { ...defaultTrainConfig, iters: 500 }, network: net, state: trained, optimizer, rows, stepLosses, test });
 */
export const writeRunFolder = async (dir: string, record: RunRecord, options: WriteRunFolderOptions = {}): Promise<string[]> => {
  const folder = openRunFolder({
    cwd: process.cwd(),
    out: dir,
    overwrite: options.overwrite ?? false,
    model: modelShortName(record.config.model),
    now: new Date(),
    note: options.note ?? (() => undefined),
  });
  try {
    return await writeRunFiles(folder.dir, record);
  } finally {
    folder.release();
  }
};

/** The settings of a run trained with the API, for RunRecord.config: the defaults with `changes`. @example runConfig({ iters: 500, trainSize: 5000 }) */
export const runConfig = (changes: Partial<TrainConfig>): TrainConfig => ({ ...defaultTrainConfig, ...changes });
