import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { LayerState, Network, Params } from '@foldnet/layers';
import {
  checkpointWeights,
  loadTrainState,
  resumeTrainState,
  saveTrainState,
  type AnyOptimizer,
  type TrainState,
  type TrainStateCheckpoint,
} from '@foldnet/train';
import { runFolderFs } from './runfolder.js';

/*
 * The CLI's side of checkpoints: @foldnet/train owns the format (saveTrainState / loadTrainState,
 * packages/train/CHECKPOINTS.md); here its Lefts become thrown errors (CheckpointError is a
 * FoldnetError, so the CLI prints one line and exits 2) and files are named as the user typed them.
 */

/** A checkpoint's content, before it is matched to a network (see `loadTrainState`). */
export type TrainCheckpoint = TrainStateCheckpoint;

/**
 * Writes `state` atomically to `file`, with the resolved config and what it carries of the run
 * (see RunCarry), through the run folder's guarded file system (runFolderFs).
 *
 * @example
 * writeTrainCheckpoint('run/checkpoint.safetensors', net, optimizer, state, config, rows);
 */
export const writeTrainCheckpoint = (
  file: string,
  network: Network,
  optimizer: AnyOptimizer,
  state: TrainState<unknown>,
  config: unknown,
  metrics?: unknown,
): string => {
  const r = saveTrainState(file, { network, optimizer, state, config, ...(metrics === undefined ? {} : { metrics }) }, runFolderFs);
  if (isLeft(r)) throw r.left;
  return r.right;
};

/**
 * Reads a checkpoint written by `foldnet train` (`file` relative to `cwd`). Every problem (missing
 * file, bad bytes, missing or bad metadata) is one error naming the file.
 *
 * @example
 * readTrainCheckpoint('runs/x/checkpoint.safetensors', process.cwd()).step; // 1000
 */
export const readTrainCheckpoint = (file: string, cwd: string): TrainCheckpoint => {
  const r = loadTrainState(path.resolve(cwd, file), { name: file });
  if (isLeft(r)) throw r.left;
  return r.right;
};

/**
 * The params and layer state of a checkpoint, checked against `network` (names, shapes, dtypes).
 *
 * @example
 * const { params, layerState } = checkpointParams(ckpt, net);
 */
export const checkpointParams = (ckpt: TrainCheckpoint, network: Network): { readonly params: Params; readonly layerState: LayerState } => {
  const r = checkpointWeights(ckpt, network);
  if (isLeft(r)) throw r.left;
  return r.right;
};

/**
 * The whole training state of a checkpoint, for `--resume`: params, layer state, the optimizer
 * (rebuilt from its name and saved hyper-parameters) with its state, step and key.
 *
 * @example
 * const { optimizer, state } = restoreTrainState(ckpt, net);
 */
export const restoreTrainState = (ckpt: TrainCheckpoint, network: Network): { readonly optimizer: AnyOptimizer; readonly state: TrainState<unknown> } => {
  const r = resumeTrainState(ckpt, network);
  if (isLeft(r)) throw r.left;
  return r.right;
};
