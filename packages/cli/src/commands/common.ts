import * as os from 'node:os';
import { isLeft } from 'fp-ts/lib/Either.js';
import { setBackend, setThreads, sizeOf, type Tensor } from '@foldnet/core';
import { memoryNeeds, type LayerState, type MemoryNeeds, type Network, type Params } from '@foldnet/layers';
import { datasetInfo, datasetNames, loadDatasetSplit, optimizerFromName, type DatasetName } from '@foldnet/train';
import { checkpointParams, readTrainCheckpoint, type TrainCheckpoint } from '../checkpoint.js';
import { backendNames } from '../config.js';
import { UsageError } from '../errors.js';
import { optNumber, optOneOf, optString, parseDecimal } from '../flags.js';
import { expectDirectory, type Io } from '../io.js';
import { networkFromSpec } from '../models.js';
import { checkpointNormalization, decodeFolderData, normalizedSet, scanFolderData, testSplitPhrase, trainedFolder, type TrainedFolder } from '../folder-data.js';

/** A trained network read back from a checkpoint. */
export interface LoadedCheckpoint {
  readonly checkpoint: TrainCheckpoint;
  readonly network: Network;
  readonly params: Params;
  readonly layerState: LayerState;
}

/**
 * Reads a checkpoint written by `foldnet train` and rebuilds its network from the model spec in
 * its metadata, with the params checked against it.
 *
 * @example
 * const { network, params } = loadTrainedNetwork('runs/x/checkpoint.safetensors', io);
 */
export const loadTrainedNetwork = (file: string, io: Io): LoadedCheckpoint => {
  const checkpoint = readTrainCheckpoint(file, io.cwd);
  if (checkpoint.model === undefined) throw new UsageError(`${file}: no model spec in its metadata ("model"), so its network cannot be rebuilt`);
  const network = networkFromSpec(checkpoint.model, `${file}: model spec`);
  const { params, layerState } = checkpointParams(checkpoint, network);
  return { checkpoint, network, params, layerState };
};

/** Applies --backend and --threads. */
export const applyComputeOptions = (opts: Readonly<Record<string, unknown>>): void => {
  const backend = optOneOf(opts, 'backend', backendNames);
  if (backend !== undefined) setBackend(backend);
  const threads = optNumber(opts, 'threads');
  if (threads !== undefined) setThreads(threads);
};

/**
 * Checks that a dataset read from its own place (no --data) is there: a dataset not installed is
 * one line saying how to get it, and how to point at its files instead.
 */
export const expectDatasetInstalled = (dataset: DatasetName): void => {
  const installed = datasetInfo(dataset).defaultDir();
  if (isLeft(installed)) throw new UsageError(`--dataset ${dataset}: ${installed.left.message}, or give --data <dir>, a directory holding its four IDX files`);
};

/** The dataset a checkpoint was trained on, as its saved config names it; undefined when it names none. */
export const trainedOn = (checkpoint: TrainCheckpoint): DatasetName | undefined => {
  const saved = checkpoint.config;
  const name = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? Reflect.get(saved, 'dataset') : undefined;
  return datasetNames.find((d) => d === name);
};

/** A test split: its images, labels, where it was read from and its classes' names. */
export interface TestSet {
  readonly x: Tensor;
  readonly targets: Int32Array;
  readonly source: string;
  readonly classNames: readonly string[];
}

/**
 * The first `testSize` test images and labels of --data, else of --dataset, else of the dataset
 * `checkpoint` was trained on (MNIST for a checkpoint that names none). Only the test files are
 * read: the training files are neither opened nor required. A checkpoint trained on an image
 * folder reads that folder's test split, or the images of --data (see folderTestSet), converted and
 * resized to the network's input; a checkpoint that normalised its inputs gets its test images
 * normalised by its saved statistics.
 */
export const loadTestSet = (
  opts: Readonly<Record<string, unknown>>,
  io: Io,
  testSize: number | undefined,
  checkpoint: TrainCheckpoint,
  network: Network,
): TestSet => {
  const data = optString(opts, 'data');
  // A checkpoint trained on an image folder is evaluated on images of a folder (its own, or --data's),
  // and one trained on normalised inputs sees its test images normalised alike.
  const folder = trainedFolder(checkpoint, data === undefined ? undefined : expectDirectory(io.cwd, data, '--data'), network.inputShape);
  const dataset = optString(opts, 'dataset');
  if (folder !== undefined && dataset !== undefined) {
    throw new UsageError(`--dataset ${dataset}: ${checkpoint.file} was trained on an image folder (${folder.settings.data ?? '?'}): give --data <a folder of its classes>, or neither for its own test split`);
  }
  const stats = checkpoint.data?.normalize === undefined ? undefined : checkpointNormalization(checkpoint.file, checkpoint.data.normalize, network.inputShape[0] ?? 1);
  if (folder !== undefined) return normalizedSet(folderTestSet(checkpoint, folder, testSize), stats);
  return normalizedSet(namedTestSet(opts, io, testSize, checkpoint), stats);
};

/**
 * The images a checkpoint trained on an image folder is evaluated on, as a model is evaluated on a
 * folder in PyTorch (ImageFolder) or Keras (image_dataset_from_directory): the folder trained on gives
 * its test split (the images training held out); another folder gives its test/ folder when it has a
 * train/ and test/ split of its own, else all its images. Labels are the checkpoint's (a label means
 * what it meant in training): a folder's class folders are matched to the checkpoint's classes by
 * name, so it may hold some of them only, in any order; a class folder the checkpoint has no class
 * for is refused, naming both lists. What the folder holds besides images is not noted (--json stays one line).
 */
const folderTestSet = (checkpoint: TrainCheckpoint, folder: TrainedFolder, testSize: number | undefined): TestSet => {
  const settings = { ...folder.settings, ...(testSize === undefined ? {} : { testSize }) };
  const dir = settings.data ?? '';
  const scan = scanFolderData(settings, folder.other ? 'other' : 'test', () => undefined);
  // a checkpoint written without its class names (by a program of one's own) has only the folder's to go by
  const classNames = checkpoint.data?.classNames ?? scan.classNames;
  const unknown = scan.classNames.filter((c) => !classNames.includes(c));
  if (unknown.length > 0) {
    throw new UsageError(
      `${dir}: its class folders (${scan.classNames.join(', ')}) are not all classes ${checkpoint.file} was trained on (${classNames.join(', ')}): no class ${unknown.join(', ')}`,
    );
  }
  const { test } = decodeFolderData(scan, 'test');
  const labelOf = scan.classNames.map((c) => classNames.indexOf(c));
  const source = folder.other && scan.split === 'fraction' ? 'all its images' : testSplitPhrase(scan.split, settings.testFraction);
  return { x: test.x, targets: test.targets.map((label) => labelOf[label] ?? label), classNames, source: `${scan.dir} (${source})` };
};

/** The test split of a named dataset (--dataset, the checkpoint's, or MNIST), from its own files or --data's. */
const namedTestSet = (
  opts: Readonly<Record<string, unknown>>,
  io: Io,
  testSize: number | undefined,
  checkpoint: TrainCheckpoint,
): TestSet => {
  const data = optString(opts, 'data');
  const dataset = optOneOf(opts, 'dataset', datasetNames) ?? trainedOn(checkpoint) ?? 'mnist';
  const dir = data === undefined ? undefined : expectDirectory(io.cwd, data, '--data');
  if (dir === undefined) expectDatasetInstalled(dataset);
  const r = loadDatasetSplit(dataset, 'test', { ...(dir === undefined ? {} : { dir }), ...(testSize === undefined ? {} : { size: testSize }) });
  if (isLeft(r)) throw r.left;
  const { title, classNames } = datasetInfo(dataset);
  return { x: r.right.images, targets: r.right.labels, source: data ?? (dataset === 'mnist' ? 'MNIST (bundled)' : title), classNames };
};

// ----- memory refused up front -----

/**
 * The most values one typed array holds on this Node (V8's limit on 64-bit machines: `new Float32Array(2 ** 32)`
 * throws "Invalid typed array length"). A tensor is one typed array, so no param or batch of activations can be larger.
 */
export const MAX_TYPED_ARRAY_VALUES = 2 ** 32 - 1;

/** Images per forward pass when evaluating (`evaluate` and `predict` default to 500). */
const EVAL_BATCH = 500;

/** The environment variable that lowers the memory a command plans on below the machine's, in bytes. */
export const MEMORY_LIMIT_ENV = 'FOLDNET_MEMORY_LIMIT';

/**
 * The memory a command may plan on: the machine's RAM (`os.totalmem()`), or a smaller limit the process runs under
 * (a cgroup's, `process.constrainedMemory()`; Node reports 2^64 or 0 when there is none), or a smaller one still
 * that FOLDNET_MEMORY_LIMIT gives in bytes (a decimal number; a shared machine's fair share). An unreadable value is
 * a UsageError naming the variable.
 *
 * @example memoryLimit({}); // 25,276,194,816 on a 23.5 GiB machine; memoryLimit({ FOLDNET_MEMORY_LIMIT: '4e9' }) // 4e9
 */
export const memoryLimit = (env: Readonly<Record<string, string | undefined>>): number => {
  const total = os.totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  const machine = constrained > 0 && constrained < total ? constrained : total;
  const given = env[MEMORY_LIMIT_ENV];
  if (given === undefined || given === '') return machine;
  const bytes = parseDecimal(given);
  if (!(bytes > 0) || !Number.isFinite(bytes)) throw new UsageError(`${MEMORY_LIMIT_ENV}: expected a positive number of bytes, got ${JSON.stringify(given)}`);
  return Math.min(bytes, machine);
};

/** Bytes as people read them: `156.8 TB`, `23.5 GiB` style with decimal units (kB, MB, GB, TB). @example formatBytes(28_000_000) // '28.0 MB' */
export const formatBytes = (bytes: number): string => {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
};

const grouped = (n: number): string => (Number.isSafeInteger(n) ? n.toLocaleString('en-US') : n.toExponential(2));

/** What a command was asked to run, for messages: the model and, where a flag sets it, the batch. */
export interface MemoryAsk {
  /** e.g. `simple`, `big.json`, `runs/x/checkpoint.safetensors` */
  readonly model: string;
  /** e.g. `--batch-size 1000000000`; undefined when no flag sets the batch. */
  readonly batchFlag?: string;
}

/**
 * Refuses, before anything of that size is allocated, a use of a network that cannot fit: an estimate
 * (`memoryNeeds`: a floor, from the shape rules alone) plus `dataBytes` (images the command holds besides) past
 * `limit`, or a single array past the typed-array limit. The UsageError names what was asked, the estimate and the
 * limit: `simple with --batch-size 1000000000: needs at least 156.8 TB of memory (433,890 params: 12.1 MB, ...),
 * more than the 25.3 GB this machine has`.
 *
 * @example
 * refuseOverMemory({ model: 'simple', batchFlag: '--batch-size 100' }, memoryNeeds(net, { batch: 100, bytesPerValue: 4, paramCopies: 7, backward: true }), memoryLimit(process.env));
 */
export const refuseOverMemory = (ask: MemoryAsk, needs: MemoryNeeds, limit: number, dataBytes = 0): void => {
  const asked = ask.batchFlag === undefined ? ask.model : `${ask.model} with ${ask.batchFlag}`;
  const total = needs.totalBytes + dataBytes;
  if (total > limit) {
    const parts = [
      `${grouped(needs.params)} params: ${formatBytes(needs.paramBytes)}`,
      `${grouped(needs.activationsPerImage)} activation values per image: ${formatBytes(needs.activationBytes)}`,
      ...(dataBytes > 0 ? [`input images: ${formatBytes(dataBytes)}`] : []),
    ];
    throw new UsageError(`${asked}: needs at least ${formatBytes(total)} of memory (${parts.join(', ')}), more than the ${formatBytes(limit)} this machine has (${MEMORY_LIMIT_ENV} lowers it)`);
  }
  if (needs.largest.values > MAX_TYPED_ARRAY_VALUES) {
    throw new UsageError(`${asked}: ${needs.largest.what} would hold ${grouped(needs.largest.values)} values, and one array holds at most ${grouped(MAX_TYPED_ARRAY_VALUES)}`);
  }
};

/**
 * `refuseOverMemory` for training `network` with the optimizer named (its slots counted) at `batch`, evaluating in
 * batches of 500 and holding `images` input images of the data set.
 *
 * @example refuseTrainingOverMemory(net, 'simple', 100, 'adam', 6000, memoryLimit(process.env));
 */
export const refuseTrainingOverMemory = (network: Network, name: string, batch: number, optimizer: string, images: number, limit: number): void => {
  const built = optimizerFromName(optimizer, {});
  const slots = isLeft(built) ? 0 : built.right.slots.length;
  const what = { model: name, batchFlag: `--batch-size ${batch}` };
  const dataBytes = images * sizeOf(network.inputShape) * 4;
  refuseOverMemory(what, memoryNeeds(network, { batch, bytesPerValue: 4, paramCopies: 3 + 2 * slots, backward: true }), limit, dataBytes);
  refuseOverMemory(what, memoryNeeds(network, { batch: Math.min(EVAL_BATCH, Math.max(1, images)), bytesPerValue: 4, paramCopies: 1, backward: false }), limit, dataBytes);
};

/** What a forward pass of `network` over `batch` images at once needs (no gradients, the params once). */
const forwardNeeds = (network: Network, batch: number): MemoryNeeds => memoryNeeds(network, { batch, bytesPerValue: 4, paramCopies: 1, backward: false });

/**
 * `refuseOverMemory` for evaluating `network` (batches of 500) over `images` input images.
 *
 * @example refuseEvaluationOverMemory(net, 'runs/x/checkpoint.safetensors', 10000, memoryLimit(process.env));
 */
export const refuseEvaluationOverMemory = (network: Network, name: string, images: number, limit: number): void =>
  refuseOverMemory({ model: name }, forwardNeeds(network, Math.min(EVAL_BATCH, Math.max(1, images))), limit, images * sizeOf(network.inputShape) * 4);

/**
 * The images one forward pass of `network` takes when they are read batch by batch (predict over files): `asked`
 * (--batch-size), refused as training refuses its batch when it cannot fit; else the first of `most`, its half, its
 * quarter, ... down to 1 whose forward and input images fit in `limit` (whether one image fits is
 * refuseEvaluationOverMemory's to say).
 *
 * @example forwardBatch(net, 'runs/x/checkpoint.safetensors', undefined, 100, memoryLimit(process.env)) // 100, or fewer for a network too wide
 */
export const forwardBatch = (network: Network, name: string, asked: number | undefined, most: number, limit: number): number => {
  const inputBytes = sizeOf(network.inputShape) * 4;
  if (asked !== undefined) {
    refuseOverMemory({ model: name, batchFlag: `--batch-size ${asked}` }, forwardNeeds(network, asked), limit, asked * inputBytes);
    return asked;
  }
  const fits = (batch: number): boolean => {
    const needs = forwardNeeds(network, batch);
    return needs.totalBytes + batch * inputBytes <= limit && needs.largest.values <= MAX_TYPED_ARRAY_VALUES;
  };
  let batch = Math.max(1, most);
  while (batch > 1 && !fits(batch)) batch = Math.ceil(batch / 2);
  return batch;
};
