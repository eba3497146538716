import { isLeft } from 'fp-ts/lib/Either.js';
import { setBackend, setThreads, type Tensor } from '@foldnet/core';
import type { LayerState, Network, Params } from '@foldnet/layers';
import { datasetInfo, datasetNames, loadDatasetSplit, type DatasetName } from '@foldnet/train';
import { checkpointParams, readTrainCheckpoint, type TrainCheckpoint } from '../checkpoint.js';
import { backendNames } from '../config.js';
import { UsageError } from '../errors.js';
import { optNumber, optOneOf, optString } from '../flags.js';
import { expectDirectory, type Io } from '../io.js';
import { networkFromSpec } from '../models.js';

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
const trainedOn = (checkpoint: TrainCheckpoint): DatasetName | undefined => {
  const saved = checkpoint.config;
  const name = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? Reflect.get(saved, 'dataset') : undefined;
  return datasetNames.find((d) => d === name);
};

/**
 * The first `testSize` test images and labels of --data, else of --dataset, else of the dataset
 * `checkpoint` was trained on (MNIST for a checkpoint that names none). Only the test files are
 * read: the training files are neither opened nor required.
 */
export const loadTestSet = (
  opts: Readonly<Record<string, unknown>>,
  io: Io,
  testSize: number | undefined,
  checkpoint: TrainCheckpoint,
): { readonly x: Tensor; readonly targets: Int32Array; readonly source: string } => {
  const data = optString(opts, 'data');
  const dataset = optOneOf(opts, 'dataset', datasetNames) ?? trainedOn(checkpoint) ?? 'mnist';
  const dir = data === undefined ? undefined : expectDirectory(io.cwd, data, '--data');
  if (dir === undefined) expectDatasetInstalled(dataset);
  const r = loadDatasetSplit(dataset, 'test', { ...(dir === undefined ? {} : { dir }), ...(testSize === undefined ? {} : { size: testSize }) });
  if (isLeft(r)) throw r.left;
  const title = datasetInfo(dataset).title;
  return { x: r.right.images, targets: r.right.labels, source: data ?? (dataset === 'mnist' ? 'MNIST (bundled)' : title) };
};
