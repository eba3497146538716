import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { LayerState, Network, Params } from '@foldnet/layers';
import {
  checkpointWeights,
  loadTrainState,
  resumeTrainState,
  saveTrainState,
  CheckpointError,
  type AnyOptimizer,
  type CheckpointDataInfo,
  type TrainState,
  type TrainStateCheckpoint,
} from '@foldnet/train';
import { runFolderFs } from './runfolder.js';
import { UsageError } from './errors.js';

/*
 * The CLI's side of checkpoints: @foldnet/train owns the format (saveTrainState / loadTrainState,
 * packages/train/CHECKPOINTS.md); here its Lefts become thrown errors (CheckpointError is a
 * FoldnetError, so the CLI prints one line and exits 2) and files are named as the user typed them.
 */

/** A checkpoint's content, before it is matched to a network (see `loadTrainState`). */
export type TrainCheckpoint = TrainStateCheckpoint;

/**
 * Writes `state` atomically to `file`, with the resolved config, what it carries of the run
 * (see RunCarry) and what its inputs need (class names, normalisation), through the run folder's
 * guarded file system (runFolderFs).
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
  data?: CheckpointDataInfo,
): string => {
  const r = saveTrainState(file, { network, optimizer, state, config, ...(metrics === undefined ? {} : { metrics }), ...(data === undefined ? {} : { data }) }, runFolderFs);
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
  if (isLeft(r)) {
    // A header refused at byte 0 is no safetensors file at all: say what the file looks like instead.
    const other = r.left instanceof CheckpointError && r.left.code === 'format' && r.left.offset === 0 ? otherFormatOfFile(path.resolve(cwd, file)) : undefined;
    if (other !== undefined) throw new UsageError(`${file}: not a safetensors checkpoint: it looks like ${other}`);
    throw r.left;
  }
  return r.right;
};

/** The first `n` bytes of a regular file (fewer when it is shorter; none when it cannot be read). */
const firstBytes = (file: string, n: number): Uint8Array => {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = new Uint8Array(n);
    return head.subarray(0, fs.readSync(fd, head, 0, n, 0));
  } catch {
    return new Uint8Array(0);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
};

/** What the file at `file` looks like when it is no checkpoint (see otherFormatOf), from its first 16 bytes. @example otherFormatOfFile('seven.png') // 'a PNG image (...)' */
export const otherFormatOfFile = (file: string): string | undefined => otherFormatOf(firstBytes(file, 16));

const startsWith = (head: Uint8Array, magic: readonly number[]): boolean => magic.every((b, i) => head[i] === b);

/**
 * What a file that is not a safetensors checkpoint looks like, from its first bytes, with where
 * such a file goes in foldnet: a PNG or JPEG image, gzip data, a zip archive, an IDX data file or
 * JSON text; undefined when the bytes say nothing known. (A safetensors file starts with its
 * header's length as 8 little-endian bytes, so a real checkpoint never matches: its bytes 2-7
 * are zeros, as no header reaches 64 KiB^2.)
 *
 * @example otherFormatOf(pngBytes) // 'a PNG image (foldnet predict <checkpoint> <image.png> takes images)'
 */
export const otherFormatOf = (head: Uint8Array): string | undefined => {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'a PNG image (foldnet predict <checkpoint> <image.png> takes images)';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'a JPEG image (foldnet predict <checkpoint> <image.jpg> takes images)';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip-compressed data (MNIST-format .gz files go in a folder given with --data)';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'a zip archive (a PyTorch .pt file is one: foldnet reads safetensors)';
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x08 && (head[3] ?? 0) >= 1) return 'an IDX data file (MNIST-format data goes in a folder given with --data)';
  const text = new TextDecoder().decode(head).replace(/^\uFEFF/, '').trimStart();
  const printable = [...head].every((b) => b === 0x09 || b === 0x0a || b === 0x0d || b >= 0x20);
  if (printable && (text.startsWith('{') || text.startsWith('['))) return 'JSON text (a model spec is given to foldnet summary, or to train --model)';
  return undefined;
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
