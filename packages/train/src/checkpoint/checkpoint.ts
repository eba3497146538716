import { closeSync } from '#files';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError, formatShape, sameShape, type DType, type Shape, type Tensor } from '@foldnet/core';
import { openRegularFile, readAt, refusalText } from '../input/regular-file.js';
import { nodeAtomicFs, writeFileAtomicWith, type AtomicFs } from './atomic.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type SafetensorsContent } from './safetensors.js';

/*
 * A checkpoint is one safetensors file. Tensor names follow one convention (CHECKPOINTS.md):
 *
 *   <layer>.<param>           trainable parameters           conv1.W, conv1.b, affine1.W
 *   opt.<slot>.<param>        optimizer state per parameter  opt.m.conv1.W, opt.v.conv1.W
 *   state.<layer>.<name>      non-trainable layer state      state.bn1.mean
 *
 * and the metadata (a string map) carries the rest: model spec, optimizer, step, PRNG key, config.
 */

/** A checkpoint's content: what `saveCheckpoint` writes and `loadCheckpoint` gives back. @example { tensors: packTensors(parts), metadata: { step: '1000' } } */
export type Checkpoint = SafetensorsContent;

/** Largest checkpoint file `loadCheckpoint` reads by default (2 GiB - 1, Node's largest single read). @example loadCheckpoint(p, { maxBytes: MAX_CHECKPOINT_BYTES / 2 }) */
export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;

/**
 * Writes a checkpoint atomically (temporary file, fsync, rename): a crash leaves the previous
 * checkpoint in place, never a truncated one. Errors ('format' for unencodable content, 'io'
 * for the write) are values. `fs` is the file system the write goes through (see writeFileAtomicWith).
 *
 * @example
 * saveCheckpoint('run/ckpt.safetensors', { tensors: { 'conv1.W': w }, metadata: { step: '1000' } });
 */
export const saveCheckpoint = (path: string, checkpoint: Checkpoint, fs: AtomicFs = nodeAtomicFs): Either<FoldnetError, string> => {
  const bytes = encodeCheckpoint(path, checkpoint);
  return bytes._tag === 'Left' ? bytes : writeFileAtomicWith(fs, path, bytes.right);
};

/**
 * A checkpoint's safetensors bytes, as `saveCheckpoint` writes them (a browser downloads them instead); `name` names
 * it in errors.
 *
 * @example
 * encodeCheckpoint('ckpt', { tensors: { 'conv1.W': w }, metadata: { step: '1000' } }); // right(Uint8Array)
 */
export const encodeCheckpoint = (name: string, checkpoint: Checkpoint): Either<FoldnetError, Uint8Array> => {
  try {
    return right(encodeSafetensors(checkpoint.tensors, checkpoint.metadata));
  } catch (e) {
    return left(e instanceof FoldnetError ? e : new FoldnetError('format', `saveCheckpoint: ${name}: ${String(e)}`));
  }
};

/**
 * Reads and fully validates a checkpoint (see `decodeSafetensors`). Anything but a regular file
 * is refused, and the file's size is checked against `maxBytes`, before a byte is read. `name` is how errors name the file (default: `path`), e.g.
 * the path as the user typed it.
 *
 * @example
 * const r = loadCheckpoint('run/ckpt.safetensors');
 * if (r._tag === 'Right') r.right.metadata.step; // '1000'
 */
export const loadCheckpoint = (
  path: string,
  options: { readonly maxBytes?: number; readonly name?: string } = {},
): Either<CheckpointError, Checkpoint> => {
  const maxBytes = options.maxBytes ?? MAX_CHECKPOINT_BYTES;
  const name = options.name ?? path;
  const cannotRead = (e: unknown): string => `cannot read: ${e instanceof Error ? e.message : String(e)}`;
  // A FIFO, a device or a directory is refused before a read could block or never end.
  const opened = openRegularFile(path, maxBytes);
  if (opened._tag === 'Left') return left(new CheckpointError('io', name, undefined, refusalText(opened.left, cannotRead)));
  let bytes: Uint8Array;
  try {
    bytes = readAt(opened.right.fd, opened.right.size, 0);
  } catch (e) {
    return left(new CheckpointError('io', name, undefined, cannotRead(e)));
  } finally {
    closeSync(opened.right.fd);
  }
  return decodeSafetensors(bytes, { file: name });
};

/** Parts of a checkpoint's tensors, split by the naming convention. @example { params: { 'conv1.W': w }, optimizer: { m: { 'conv1.W': m } }, state: {} } */
export interface CheckpointParts {
  /** Trainable parameters, `<layer>.<param>` (as the network's Params). */
  readonly params: Readonly<Record<string, Tensor>>;
  /** Optimizer state per slot (`m`, `v`, ...), each keyed by parameter name. */
  readonly optimizer: Readonly<Record<string, Readonly<Record<string, Tensor>>>>;
  /** Non-trainable layer state, `<layer>.<name>` (as the network's LayerState). */
  readonly state: Readonly<Record<string, Tensor>>;
}

const OPT = 'opt.';
const STATE = 'state.';

/**
 * Names the tensors of a checkpoint by the convention (`conv1.W`, `opt.m.conv1.W`,
 * `state.bn1.mean`). Throws a 'format' FoldnetError when a parameter or state name would be
 * ambiguous (a layer called `opt` or `state`) or a slot name holds a dot.
 *
 * @example
 * packTensors({ params: { 'conv1.W': w }, optimizer: { m: { 'conv1.W': m } }, state: {} });
 * // { 'conv1.W': w, 'opt.m.conv1.W': m }
 */
export const packTensors = (parts: CheckpointParts): Record<string, Tensor> => {
  const out: [string, Tensor][] = [];
  for (const [name, t] of Object.entries(parts.params)) {
    if (name.startsWith(OPT) || name.startsWith(STATE)) {
      throw new FoldnetError('format', `packTensors: parameter ${name}: layer names 'opt' and 'state' are reserved in checkpoints`);
    }
    out.push([name, t]);
  }
  for (const [slot, tensors] of Object.entries(parts.optimizer)) {
    if (slot === '' || slot.includes('.')) {
      throw new FoldnetError('format', `packTensors: optimizer slot ${JSON.stringify(slot)} must be non-empty and hold no dot`);
    }
    for (const [name, t] of Object.entries(tensors)) out.push([`${OPT}${slot}.${name}`, t]);
  }
  for (const [name, t] of Object.entries(parts.state)) out.push([`${STATE}${name}`, t]);
  return Object.fromEntries(out);
};

/**
 * The inverse of `packTensors`: splits a checkpoint's tensors by name prefix.
 *
 * @example
 * unpackTensors({ 'conv1.W': w, 'opt.m.conv1.W': m }); // { params: { 'conv1.W': w }, optimizer: { m: { 'conv1.W': m } }, state: {} }
 */
export const unpackTensors = (tensors: Readonly<Record<string, Tensor>>): CheckpointParts => {
  const params: [string, Tensor][] = [];
  const state: [string, Tensor][] = [];
  const slots = new Map<string, [string, Tensor][]>();
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(STATE)) {
      state.push([name.slice(STATE.length), t]);
    } else if (name.startsWith(OPT) && name.indexOf('.', OPT.length) > OPT.length) {
      const dot = name.indexOf('.', OPT.length);
      const slot = name.slice(OPT.length, dot);
      slots.set(slot, [...(slots.get(slot) ?? []), [name.slice(dot + 1), t]]);
    } else {
      params.push([name, t]);
    }
  }
  const optimizer = Object.fromEntries([...slots].map(([slot, entries]) => [slot, Object.fromEntries(entries)]));
  return { params: Object.fromEntries(params), optimizer, state: Object.fromEntries(state) };
};

/** What `matchTensors` compares: a tensor, or just its shape and dtype. @example { shape: [30, 1, 5, 5], dtype: 'float32' } */
export interface TensorSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

const listNames = (names: readonly string[]): string =>
  names.length === 0 ? 'nothing' : names.length <= 6 ? names.join(', ') : `${names.slice(0, 6).join(', ')} and ${names.length - 6} more`;

/**
 * Checks that a checkpoint's tensors fit what a network expects, name by name in the network's
 * order, and returns them as a record with exactly the expected names. The first difference is
 * the error: a missing tensor, a shape ('shape') or dtype ('dtype') mismatch naming both, or a
 * tensor the network does not have. `what` names the kind in messages ('parameter', 'state').
 *
 * @example
 * matchTensors(network.init(key(0), [1, 28, 28]).params, unpackTensors(ckpt.tensors).params, { file: 'ckpt.safetensors' });
 * // left: "ckpt.safetensors: parameter conv1.W: the checkpoint has [30,1,5,5], the network expects [16,1,3,3]"
 */
export const matchTensors = (
  expected: Readonly<Record<string, TensorSpec>>,
  found: Readonly<Record<string, Tensor>>,
  { file, what = 'parameter' }: { readonly file: string; readonly what?: string },
): Either<CheckpointError, Record<string, Tensor>> => {
  const has = (name: string) => Object.prototype.hasOwnProperty.call(found, name);
  const out: [string, Tensor][] = [];
  for (const [name, spec] of Object.entries(expected)) {
    if (!has(name)) {
      const present = Object.keys(found);
      return left(new CheckpointError('format', file, undefined, `${what} ${name} is missing (the checkpoint holds ${listNames(present)})`));
    }
    const t = found[name];
    if (!sameShape(t.shape, spec.shape)) {
      return left(new CheckpointError('shape', file, undefined, `${what} ${name}: the checkpoint has ${formatShape(t.shape)}, the network expects ${formatShape(spec.shape)}`));
    }
    if (t.dtype !== spec.dtype) {
      return left(new CheckpointError('dtype', file, undefined, `${what} ${name}: the checkpoint has ${t.dtype}, the network expects ${spec.dtype}`));
    }
    out.push([name, t]);
  }
  const extra = Object.keys(found).filter((name) => !Object.prototype.hasOwnProperty.call(expected, name));
  if (extra.length > 0) {
    return left(new CheckpointError('format', file, undefined, `the checkpoint holds ${what} ${listNames(extra)} that the network does not have`));
  }
  return right(Object.fromEntries(out));
};
