import { isLeft } from 'fp-ts/lib/Either.js';
import { setBackend, setThreads, type Tensor } from '@foldnet/core';
import type { LayerState, Network, Params } from '@foldnet/layers';
import { loadMnistSplit } from '@foldnet/train';
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
 * The first `testSize` test images and labels of --data (or the bundled MNIST). Only the test
 * files are read: the training files are neither opened nor required.
 */
export const loadTestSet = (opts: Readonly<Record<string, unknown>>, io: Io, testSize: number | undefined): { readonly x: Tensor; readonly targets: Int32Array; readonly source: string } => {
  const data = optString(opts, 'data');
  const dir = data === undefined ? undefined : expectDirectory(io.cwd, data, '--data');
  const r = loadMnistSplit('test', { ...(dir === undefined ? {} : { dir }), ...(testSize === undefined ? {} : { size: testSize }) });
  if (isLeft(r)) throw r.left;
  return { x: r.right.images, targets: r.right.labels, source: data ?? 'MNIST (bundled)' };
};
