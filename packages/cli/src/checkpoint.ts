import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { keyFromState, type Key } from '@foldnet/core';
import type { Network } from '@foldnet/layers';
import {
  loadCheckpoint,
  matchTensors,
  optimizerFromName,
  packTensors,
  saveCheckpoint,
  unpackTensors,
  type AnyOptimizer,
  type TrainState,
} from '@foldnet/train';
import { UsageError } from './errors.js';

/*
 * A training state in one safetensors file, with the metadata keys of packages/train/CHECKPOINTS.md:
 *   format     'foldnet-checkpoint/1'
 *   model      the JSON model spec the network was built from
 *   optimizer  JSON: { name, ...hyper-parameters, ...scalar state }   e.g. {"name":"adam","lr":0.001,...,"count":1000}
 *   step       steps taken, decimal
 *   key        the training key's state, JSON array of four int32
 *   config     the resolved training config, JSON
 * Tensors: params `<layer>.<param>`, optimizer slots `opt.<slot>.<param>`, layer state `state.<layer>.<name>`.
 */

/** The metadata `format` value this module writes and accepts. */
export const checkpointFormat = 'foldnet-checkpoint/1';

/**
 * Writes `state` atomically to `file`.
 *
 * @example
 * writeTrainCheckpoint('run/checkpoint.safetensors', net, optimizer, state, config);
 */
export const writeTrainCheckpoint = (file: string, network: Network, optimizer: AnyOptimizer, state: TrainState<unknown>, config: unknown): void => {
  const saved = optimizer.stateToTensors(state.opt);
  const slots: Record<string, Record<string, (typeof saved.tensors)[string]>> = {};
  for (const [name, t] of Object.entries(saved.tensors)) {
    const dot = name.indexOf('.');
    const slot = name.slice(0, dot);
    slots[slot] = { ...(slots[slot] ?? {}), [name.slice(dot + 1)]: t };
  }
  const r = saveCheckpoint(file, {
    tensors: packTensors({ params: state.params, optimizer: slots, state: state.layerState }),
    metadata: {
      format: checkpointFormat,
      model: JSON.stringify(network.spec),
      optimizer: JSON.stringify({ name: optimizer.name, ...optimizer.hyper, ...saved.scalars }),
      step: String(state.step),
      key: JSON.stringify(state.key.state),
      config: JSON.stringify(config),
    },
  });
  if (isLeft(r)) throw r.left;
};

/** A checkpoint's content, before it is matched to a network. */
export interface TrainCheckpoint {
  readonly file: string;
  readonly step: number;
  readonly key: Key;
  /** The saved training config (unknown: decode it before use). */
  readonly config: unknown;
  /** The JSON model spec (unknown: decode it before use). */
  readonly model: unknown;
  readonly optimizerName: string;
  readonly optimizerFields: Readonly<Record<string, number>>;
  readonly tensors: ReturnType<typeof unpackTensors>;
}

const parseJsonField = (file: string, metadata: Readonly<Record<string, string>>, field: string): unknown => {
  const text = metadata[field];
  if (text === undefined) throw new UsageError(`${file}: not a foldnet training checkpoint (no "${field}" in its metadata)`);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: metadata "${field}" is not valid JSON`);
  }
};

/**
 * Reads a checkpoint written by `foldnet train`. Every problem (missing file, bad bytes, missing
 * metadata) is one error line naming the file.
 *
 * @example
 * readTrainCheckpoint('runs/x/checkpoint.safetensors', process.cwd()).step; // 1000
 */
export const readTrainCheckpoint = (file: string, cwd: string): TrainCheckpoint => {
  const full = path.resolve(cwd, file);
  const r = loadCheckpoint(full);
  if (isLeft(r)) throw r.left;
  const { metadata, tensors } = r.right;
  if (metadata['format'] !== checkpointFormat) {
    throw new UsageError(`${file}: not a foldnet training checkpoint (metadata format is ${JSON.stringify(metadata['format'] ?? null)}, expected "${checkpointFormat}")`);
  }
  const step = Number(metadata['step']);
  if (!Number.isSafeInteger(step) || step < 0) throw new UsageError(`${file}: metadata step ${JSON.stringify(metadata['step'])} is not a step count`);
  const optimizer = parseJsonField(file, metadata, 'optimizer');
  if (typeof optimizer !== 'object' || optimizer === null || !('name' in optimizer) || typeof optimizer.name !== 'string') {
    throw new UsageError(`${file}: metadata optimizer has no name`);
  }
  const fields = Object.fromEntries(Object.entries(optimizer).flatMap(([k, v]): [string, number][] => (typeof v === 'number' ? [[k, v]] : [])));
  return {
    file,
    step,
    key: keyFromState(parseJsonField(file, metadata, 'key')),
    config: parseJsonField(file, metadata, 'config'),
    model: parseJsonField(file, metadata, 'model'),
    optimizerName: optimizer.name,
    optimizerFields: fields,
    tensors: unpackTensors(tensors),
  };
};

/**
 * The params and layer state of a checkpoint, checked against `network` (names, shapes, dtypes).
 *
 * @example
 * const { params, layerState } = checkpointParams(ckpt, net);
 */
export const checkpointParams = (ckpt: TrainCheckpoint, network: Network): { readonly params: TrainState<unknown>['params']; readonly layerState: TrainState<unknown>['layerState'] } => {
  const fresh = network.init(ckpt.key);
  const params = matchTensors(fresh.params, ckpt.tensors.params, { file: ckpt.file });
  if (isLeft(params)) throw params.left;
  const layerState = matchTensors(fresh.state, ckpt.tensors.state, { file: ckpt.file, what: 'layer state' });
  if (isLeft(layerState)) throw layerState.left;
  return { params: params.right, layerState: layerState.right };
};

/**
 * The whole training state of a checkpoint, for `--resume`: params, layer state, the optimizer
 * (rebuilt from its name and saved hyper-parameters) with its state, step and key.
 *
 * @example
 * const { optimizer, state } = restoreTrainState(ckpt, net);
 */
export const restoreTrainState = (ckpt: TrainCheckpoint, network: Network): { readonly optimizer: AnyOptimizer; readonly state: TrainState<unknown> } => {
  const { params, layerState } = checkpointParams(ckpt, network);
  const probe = optimizerFromName(ckpt.optimizerName);
  if (isLeft(probe)) throw new UsageError(`${ckpt.file}: ${probe.left.message}`);
  // Fields named like the optimizer's hyper-parameters are hyper-parameters; the others are scalar state.
  const hyperNames = new Set(Object.keys(probe.right.hyper));
  const hyper = Object.fromEntries(Object.entries(ckpt.optimizerFields).filter(([k]) => hyperNames.has(k)));
  const scalars = Object.fromEntries(Object.entries(ckpt.optimizerFields).filter(([k]) => !hyperNames.has(k)));
  const optimizer = optimizerFromName(ckpt.optimizerName, hyper);
  if (isLeft(optimizer)) throw new UsageError(`${ckpt.file}: ${optimizer.left.message}`);
  const slotTensors = Object.fromEntries(
    Object.entries(ckpt.tensors.optimizer).flatMap(([slot, tensors]) => Object.entries(tensors).map(([name, t]) => [`${slot}.${name}`, t] as const)),
  );
  const opt = optimizer.right.stateFromTensors({ tensors: slotTensors, scalars }, params);
  if (isLeft(opt)) throw new UsageError(`${ckpt.file}: optimizer state: ${opt.left.message}`);
  return {
    optimizer: optimizer.right,
    state: Object.freeze({ step: ckpt.step, params, layerState, opt: opt.right, key: ckpt.key, loss: Number.NaN, fault: undefined }),
  };
};
