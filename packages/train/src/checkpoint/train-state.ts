import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError, key as keyOf, keyFromState, type Key, type Tensor } from '@foldnet/core';
import type { LayerState, ModelSpecJson, Network, Params } from '@foldnet/layers';
import type { TrainState } from '../fit/state.js';
import type { AnyOptimizer, Optimizer } from '../optim/optimizer.js';
import { optimizerFromName } from '../optim/registry.js';
import { MAX_TEXT_BYTES, parseJson } from '../input/json.js';
import { encodeCheckpoint, loadCheckpoint, matchTensors, packTensors, saveCheckpoint, unpackTensors, type Checkpoint, type CheckpointParts } from './checkpoint.js';
import { CheckpointError } from './safetensors.js';
import { decodeDataInfo, type CheckpointDataInfo } from './data-info.js';
import { firstNonFinite } from '../numeric.js';
import { nodeAtomicFs, type AtomicFs } from './atomic.js';

/*
 * A whole training state in one safetensors file, so that a checkpoint alone is enough to
 * evaluate a network or to resume its training bit for bit (CHECKPOINTS.md):
 *
 *   tensors    params `<layer>.<param>`, optimizer slots `opt.<slot>.<param>`, layer state `state.<layer>.<name>`
 *   metadata   format     'foldnet-checkpoint/1'
 *              step       steps taken, decimal
 *              model      the JSON model spec the network was built from
 *              optimizer  JSON { name, ...hyper-parameters, ...scalar state }: {"name":"adam","lr":0.001,...,"count":1000}
 *              key        the training key's state, JSON array of four int32
 *              config     the training config, JSON (optional; the caller's own shape)
 *              metrics    the evaluation history, JSON (optional; the caller's own shape)
 *              data       what the inputs need: class names, per-channel normalisation, JSON (optional; data-info.ts)
 *
 * Only `format` and `step` are required to load one; each use then asks for what it needs:
 * `checkpointWeights` the params (and layer state), `resumeTrainState` also the optimizer state
 * and the key, and its Left says which is missing and why training cannot go on.
 */

/** The metadata `format` value `saveTrainState` writes and `loadTrainState` accepts. @example metadata.format === TRAIN_STATE_FORMAT */
export const TRAIN_STATE_FORMAT = 'foldnet-checkpoint/1';

/**
 * What `saveTrainState` writes. `optimizer` omitted: a weights-only checkpoint (it can be
 * evaluated; resuming from it is refused with the reason). `state` is a `TrainState` or any
 * record with its fields (`opt` is read only with an optimizer).
 *
 * @example
 * { network: net, optimizer: adam(), state: s, config: { iters: 1000 }, metrics: [{ step: 10, test_acc: 0.4 }] }
 */
export interface TrainStateToSave<S> {
  readonly network: { readonly spec: ModelSpecJson };
  readonly state: {
    readonly step: number;
    readonly params: Params;
    readonly layerState: LayerState;
    readonly key: Key;
    readonly opt?: S;
  };
  readonly optimizer?: Optimizer<S>;
  /** Any JSON-serialisable value, stored as the `config` metadata. */
  readonly config?: unknown;
  /** Any JSON-serialisable value, stored as the `metrics` metadata. */
  readonly metrics?: unknown;
  /** Class names and input normalisation, stored as the `data` metadata (see CheckpointDataInfo). */
  readonly data?: CheckpointDataInfo;
}

/** The optimizer a checkpoint names: its name and the numbers saved with it (hyper-parameters and scalar state). @example { name: 'adam', fields: { lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0, count: 1000 } } */
export interface SavedOptimizer {
  readonly name: string;
  readonly fields: Readonly<Record<string, number>>;
}

/**
 * A training checkpoint as read by `loadTrainState`, before it meets a network. JSON metadata is
 * parsed but not decoded (`model`, `config` and `metrics` are `unknown`: decode them before use);
 * absent entries are undefined.
 *
 * @example
 * const r = loadTrainState('run/checkpoint.safetensors');
 * if (r._tag === 'Right') r.right.step; // 1000
 */
export interface TrainStateCheckpoint {
  /** The file as errors name it. */
  readonly file: string;
  readonly step: number;
  /** The training key, or undefined when the metadata has none (then training cannot resume). */
  readonly key: Key | undefined;
  /** The parsed JSON model spec, or undefined. */
  readonly model: unknown;
  readonly config: unknown;
  readonly metrics: unknown;
  /** Class names and input normalisation (the `data` metadata), decoded; undefined when absent (older checkpoints). */
  readonly data: CheckpointDataInfo | undefined;
  /** The optimizer's name and saved numbers, or undefined (a weights-only checkpoint). */
  readonly optimizer: SavedOptimizer | undefined;
  /** The tensors split by the naming convention. */
  readonly parts: CheckpointParts;
  /** The raw metadata map. */
  readonly metadata: Readonly<Record<string, string>>;
}

// TextEncoder, not Buffer: the checkpoint format is shared with browsers
const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

const formatError = (file: string, detail: string): CheckpointError => new CheckpointError('format', file, undefined, detail);

/** The first of `fields` (name, number) that is not a finite number, described; undefined when none. */
const firstNonFiniteField = (what: string, fields: Readonly<Record<string, number>>): string | undefined => {
  const bad = Object.entries(fields).find(([, v]) => !Number.isFinite(v));
  return bad === undefined ? undefined : `${what} ${bad[0]} is ${bad[1]}`;
};

const stringify = (what: string, value: unknown): Either<FoldnetError, string> => {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? left(new FoldnetError('format', `saveTrainState: ${what} is not JSON-serialisable`)) : right(text);
  } catch (e) {
    return left(new FoldnetError('format', `saveTrainState: ${what} is not JSON-serialisable: ${e instanceof Error ? e.message : String(e)}`));
  }
};

/**
 * Writes a training state atomically (temporary file, fsync, rename; see `writeFileAtomic`): the
 * network's params and layer state, the optimizer's state through its `stateToTensors`, and the
 * metadata (model spec, optimizer name with hyper-parameters and scalar state, step, key, config,
 * metrics). A crash while it runs leaves the previous file whole. Returns the absolute path.
 *
 * The last line of defence against a diverged run: a state whose params, layer state, optimizer
 * state or optimizer numbers hold NaN or ±Infinity is refused (a 'numeric' Left naming the first
 * such tensor) and nothing is written, so the file on disk keeps the last finite state. Metadata
 * readers would refuse (a model spec or config over MAX_TEXT_BYTES) is refused too. `fs` is the file
 * system the write goes through (see writeFileAtomicWith).
 *
 * @example
 * const r = saveTrainState('run/checkpoint.safetensors', { network: net, optimizer: opt, state: s, config });
 * if (r._tag === 'Left') console.error(r.left.message);
 */
export const saveTrainState = <S>(path: string, what: TrainStateToSave<S>, fs: AtomicFs = nodeAtomicFs): Either<FoldnetError, string> => {
  const content = trainStateContent(path, what);
  return isLeft(content) ? content : saveCheckpoint(path, content.right, fs);
};

/**
 * The bytes `saveTrainState` would write, with the same checks (a browser downloads them, or hands them to a page
 * from a Worker); `name` names the checkpoint in errors. Deterministic: the same state gives the same bytes.
 *
 * @example
 * const r = encodeTrainState('checkpoint.safetensors', { network: net, optimizer: opt, state: s });
 * if (r._tag === 'Right') new Blob([r.right]); // a download
 */
export const encodeTrainState = <S>(name: string, what: TrainStateToSave<S>): Either<FoldnetError, Uint8Array> => {
  const content = trainStateContent(name, what);
  return isLeft(content) ? content : encodeCheckpoint(name, content.right);
};

/** The tensors and metadata of a training state, checked (see saveTrainState); `path` names it in errors. */
const trainStateContent = <S>(path: string, what: TrainStateToSave<S>): Either<FoldnetError, Checkpoint> => {
  const { network, state, optimizer } = what;
  const metadata: Record<string, string> = { format: TRAIN_STATE_FORMAT, step: String(state.step), key: JSON.stringify(state.key.state) };
  const model = stringify('the model spec', network.spec);
  if (isLeft(model)) return model;
  metadata['model'] = model.right;
  for (const [name, value] of [['config', what.config], ['metrics', what.metrics], ['data', what.data]] as const) {
    if (value === undefined) continue;
    const text = stringify(name, value);
    if (isLeft(text)) return text;
    metadata[name] = text.right;
  }
  for (const name of CAPPED_FIELDS) {
    const size = utf8Bytes(metadata[name] ?? '');
    if (size > MAX_TEXT_BYTES) return left(new FoldnetError('format', `saveTrainState: ${path}: the ${name} metadata takes ${size} bytes, more than the ${MAX_TEXT_BYTES} readers accept`));
  }
  const refuse = (detail: string) => left(new FoldnetError('numeric', `saveTrainState: ${path}: ${detail}; a checkpoint never holds NaN or Infinity, so none was written`));
  const badWeights = firstNonFinite([['parameter', state.params], ['layer state', state.layerState]]);
  if (badWeights !== undefined) return refuse(badWeights);
  const slots: Record<string, Record<string, Tensor>> = {};
  if (optimizer !== undefined) {
    if (state.opt === undefined) return left(new FoldnetError('value', `saveTrainState: ${path}: an optimizer (${optimizer.name}) was given without its state (state.opt)`));
    const saved = optimizer.stateToTensors(state.opt);
    const badState = firstNonFinite([['optimizer state', saved.tensors]]) ?? firstNonFiniteField('optimizer number', { ...optimizer.hyper, ...saved.scalars });
    if (badState !== undefined) return refuse(badState);
    // `<slot>.<param>` -> slots[slot][param]: the slot is the part before the first dot.
    for (const [name, t] of Object.entries(saved.tensors)) {
      const dot = name.indexOf('.');
      if (dot <= 0) return left(new FoldnetError('format', `saveTrainState: optimizer state tensor ${JSON.stringify(name)} is not named <slot>.<param>`));
      const slot = name.slice(0, dot);
      slots[slot] = { ...(slots[slot] ?? {}), [name.slice(dot + 1)]: t };
    }
    const fields = stringify('the optimizer', { name: optimizer.name, ...optimizer.hyper, ...saved.scalars });
    if (isLeft(fields)) return fields;
    metadata['optimizer'] = fields.right;
  }
  let tensors: Record<string, Tensor>;
  try {
    tensors = packTensors({ params: state.params, optimizer: slots, state: state.layerState });
  } catch (e) {
    return left(e instanceof FoldnetError ? e : new FoldnetError('format', `saveTrainState: ${path}: ${String(e)}`));
  }
  return right({ tensors, metadata });
};

/**
 * The JSON metadata entries held to MAX_TEXT_BYTES like any text input; `metrics` is bounded by
 * the header limit alone, as a long run's evaluation history can be larger.
 */
const CAPPED_FIELDS = ['model', 'config', 'optimizer', 'key', 'data'] as const;

// JSON metadata entry `field`: undefined when absent, Left when present and not JSON by foldnet's
// rule (input/json.ts: one leading BOM ignored, repeated keys refused) or over its size cap.
const jsonField = (file: string, metadata: Readonly<Record<string, string>>, field: string): Either<CheckpointError, unknown> => {
  const text = metadata[field];
  if (text === undefined) return right(undefined);
  const capped: readonly string[] = CAPPED_FIELDS;
  // UTF-16 length x 3 bounds the UTF-8 size; only a long text is measured exactly.
  if (capped.includes(field) && text.length * 3 > MAX_TEXT_BYTES) {
    const size = utf8Bytes(text);
    if (size > MAX_TEXT_BYTES) return left(formatError(file, `metadata "${field}" takes ${size} bytes, more than the ${MAX_TEXT_BYTES}-byte limit`));
  }
  const parsed = parseJson(text);
  return isLeft(parsed) ? left(formatError(file, `metadata "${field}": ${parsed.left}`)) : parsed;
};

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u);

const readOptimizer = (file: string, json: unknown): Either<CheckpointError, SavedOptimizer | undefined> => {
  if (json === undefined) return right(undefined);
  if (!isRecord(json) || typeof json['name'] !== 'string') {
    return left(formatError(file, `metadata "optimizer" must be a JSON object with a string "name", got ${JSON.stringify(json).slice(0, 80)}`));
  }
  const fields: [string, number][] = [];
  for (const [k, v] of Object.entries(json)) {
    if (k === 'name') continue;
    if (typeof v !== 'number') return left(formatError(file, `metadata "optimizer": ${k} must be a number, got ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}`));
    fields.push([k, v]);
  }
  return right({ name: json['name'], fields: Object.fromEntries(fields) });
};

/**
 * Reads a training checkpoint: the file is fully validated (`loadCheckpoint`), then its metadata:
 * `format` must be `foldnet-checkpoint/1`, `step` a non-negative integer; `model`, `config`,
 * `metrics` and `optimizer` must be JSON when present, `key` four 32-bit integers when present.
 * Never throws; every Left names the file (`name`, default `path`) and what is wrong.
 *
 * @example
 * const r = loadTrainState('run/checkpoint.safetensors');
 * // right({ step: 1000, optimizer: { name: 'adam', fields: {...} }, parts: { params, optimizer, state }, ... })
 * // left: "run/checkpoint.safetensors: not a foldnet training checkpoint (metadata format is null, ...)"
 */
export const loadTrainState = (
  path: string,
  options: { readonly name?: string; readonly maxBytes?: number } = {},
): Either<CheckpointError, TrainStateCheckpoint> => {
  const file = options.name ?? path;
  const loaded = loadCheckpoint(path, { name: file, ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }) });
  if (isLeft(loaded)) return loaded;
  const { metadata, tensors } = loaded.right;
  return decodeTrainState(file, metadata, tensors);
};

/**
 * The metadata checks of `loadTrainState`, on content already in memory (decoded safetensors).
 *
 * @example
 * decodeTrainState('x.safetensors', { format: 'foldnet-checkpoint/1', step: '3' }, {}); // right({ step: 3, ... })
 */
export const decodeTrainState = (
  file: string,
  metadata: Readonly<Record<string, string>>,
  tensors: Readonly<Record<string, Tensor>>,
): Either<CheckpointError, TrainStateCheckpoint> => {
  const format = metadata['format'];
  if (format !== TRAIN_STATE_FORMAT) {
    return left(formatError(file, `not a foldnet training checkpoint (metadata format is ${JSON.stringify(format ?? null)}, expected "${TRAIN_STATE_FORMAT}")`));
  }
  const stepText = metadata['step'];
  const step = stepText !== undefined && /^\d{1,15}$/.test(stepText) ? Number(stepText) : Number.NaN;
  if (!Number.isSafeInteger(step)) return left(formatError(file, `metadata step ${JSON.stringify(stepText ?? null)} is not a step count`));
  const model = jsonField(file, metadata, 'model');
  if (isLeft(model)) return model;
  const config = jsonField(file, metadata, 'config');
  if (isLeft(config)) return config;
  const metrics = jsonField(file, metadata, 'metrics');
  if (isLeft(metrics)) return metrics;
  const dataJson = jsonField(file, metadata, 'data');
  if (isLeft(dataJson)) return dataJson;
  const data = decodeDataInfo(file, dataJson.right);
  if (isLeft(data)) return data;
  const optimizerJson = jsonField(file, metadata, 'optimizer');
  if (isLeft(optimizerJson)) return optimizerJson;
  const optimizer = readOptimizer(file, optimizerJson.right);
  if (isLeft(optimizer)) return optimizer;
  const keyJson = jsonField(file, metadata, 'key');
  if (isLeft(keyJson)) return keyJson;
  let key: Key | undefined;
  if (keyJson.right !== undefined) {
    try {
      key = keyFromState(keyJson.right);
    } catch (e) {
      return left(formatError(file, `metadata "key": ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  return right({
    file,
    step,
    key,
    model: model.right,
    config: config.right,
    metrics: metrics.right,
    data: data.right,
    optimizer: optimizer.right,
    parts: unpackTensors(tensors),
    metadata,
  });
};

/**
 * The params and layer state of a checkpoint, checked against `network` name by name in the
 * network's order: a Left names the first missing, extra or mismatching tensor and, for a shape
 * mismatch, both shapes (`run/ckpt.safetensors: parameter conv1.W: the checkpoint has [30,1,5,5],
 * the network expects [16,1,3,3]`). Needs no optimizer state, so any checkpoint can be evaluated.
 * A tensor holding NaN or ±Infinity is a 'numeric' Left naming it and the count: no accuracy is
 * computed from such weights.
 *
 * @example
 * const w = checkpointWeights(ckpt, simpleNet);
 * if (w._tag === 'Right') evaluate(simpleNet, w.right.params, w.right.layerState, test);
 */
export const checkpointWeights = (
  ckpt: TrainStateCheckpoint,
  network: Network,
): Either<CheckpointError, { readonly params: Params; readonly layerState: LayerState }> => {
  // The network's own init gives the expected names, shapes and dtypes (its values are dropped).
  const fresh = network.init(ckpt.key ?? keyOf(0));
  const params = matchTensors(fresh.params, ckpt.parts.params, { file: ckpt.file });
  if (isLeft(params)) return params;
  const layerState = matchTensors(fresh.state, ckpt.parts.state, { file: ckpt.file, what: 'layer state' });
  if (isLeft(layerState)) return layerState;
  const bad = firstNonFinite([['parameter', params.right], ['layer state', layerState.right]]);
  if (bad !== undefined) return left(nonFiniteError(ckpt.file, bad));
  return right({ params: Object.freeze(params.right), layerState: Object.freeze(layerState.right) });
};

// A checkpoint written elsewhere (or before foldnet refused them) can hold NaN or Infinity: an
// accuracy computed from such weights would be a number that means nothing.
const nonFiniteError = (file: string, detail: string): CheckpointError =>
  new CheckpointError('numeric', file, undefined, `${detail}: a network with NaN or Infinity in it cannot be evaluated, exported or trained on`);

const cannotResume = (ckpt: TrainStateCheckpoint, why: string): CheckpointError =>
  formatError(ckpt.file, `cannot resume training: ${why}; its weights can still be evaluated`);

/**
 * The whole training state of a checkpoint, to go on training: params and layer state (checked
 * against `network`), the optimizer rebuilt from its saved name and hyper-parameters, its state
 * (`stateFromTensors`), the step and the key. Continuing from it equals never having stopped.
 * A Left says why training cannot resume: no optimizer in the metadata, an optimizer state tensor
 * missing or mismatched, no key (`ckpt: cannot resume training: the checkpoint holds no optimizer
 * state (no "optimizer" in its metadata); its weights can still be evaluated`).
 *
 * @example
 * const r = resumeTrainState(ckpt, net);
 * if (r._tag === 'Right') fit(trainStep(net, r.right.optimizer), r.right.state, batches.from(r.right.state.step));
 */
export const resumeTrainState = (
  ckpt: TrainStateCheckpoint,
  network: Network,
): Either<CheckpointError, { readonly optimizer: AnyOptimizer; readonly state: TrainState<unknown> }> => {
  const saved = ckpt.optimizer;
  if (saved === undefined) return left(cannotResume(ckpt, 'the checkpoint holds no optimizer state (no "optimizer" in its metadata)'));
  if (ckpt.key === undefined) return left(cannotResume(ckpt, 'the checkpoint holds no training key (no "key" in its metadata)'));
  const weights = checkpointWeights(ckpt, network);
  if (isLeft(weights)) return weights;
  const probe = optimizerFromName(saved.name);
  if (isLeft(probe)) return left(cannotResume(ckpt, probe.left.message));
  // Fields named like the optimizer's hyper-parameters are hyper-parameters; the others are scalar state.
  const hyperNames = new Set(Object.keys(probe.right.hyper));
  const entries = Object.entries(saved.fields);
  const optimizer = optimizerFromName(saved.name, Object.fromEntries(entries.filter(([k]) => hyperNames.has(k))));
  if (isLeft(optimizer)) return left(cannotResume(ckpt, optimizer.left.message));
  const slotTensors = Object.fromEntries(
    Object.entries(ckpt.parts.optimizer).flatMap(([slot, tensors]) => Object.entries(tensors).map(([name, t]) => [`${slot}.${name}`, t] as const)),
  );
  const scalars = Object.fromEntries(entries.filter(([k]) => !hyperNames.has(k)));
  const badState = firstNonFinite([['optimizer state', slotTensors]]);
  if (badState !== undefined) return left(nonFiniteError(ckpt.file, badState));
  const opt = optimizer.right.stateFromTensors({ tensors: slotTensors, scalars }, weights.right.params);
  if (isLeft(opt)) return left(cannotResume(ckpt, `optimizer state: ${opt.left.message}`));
  return right({
    optimizer: optimizer.right,
    state: Object.freeze({
      step: ckpt.step,
      params: weights.right.params,
      layerState: weights.right.layerState,
      opt: opt.right,
      key: ckpt.key,
      loss: Number.NaN,
      fault: undefined,
    }),
  });
};
