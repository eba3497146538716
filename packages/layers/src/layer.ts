import { FoldnetError, formatShape, kernels, type Kernels, type Op, type Shape, type Tensor } from '@foldnet/core';
import type { ForwardContext, ForwardResult, Layer, LayerState, Params } from './types.js';

/*
 * Helpers every layer module shares: building a frozen Layer value, reading a named param with an
 * error that names the layer, and picking the kernel set for a call.
 */

// How to rebuild a layer under another name, for the layers made by defineLayer.
const rebuilders = new WeakMap<Layer, (name: string) => Layer>();

/**
 * Builds a frozen layer value from `make(name)`. Layers are created unnamed (`name: ''`) unless
 * the user names them; `network` renames each unnamed one lesson-style (conv1, relu1, pool1,
 * affine1, ...) by calling `make` again, so error messages inside the closures use the final name.
 *
 * @example defineLayer('', (name) => ({ name, kind: 'identity', spec: { type: 'identity' }, ... }))
 */
export const defineLayer = (name: string, make: (name: string) => Layer): Layer => {
  const made = make(name);
  const layer = Object.freeze({ ...made, spec: Object.freeze({ ...made.spec }) });
  rebuilders.set(layer, (n) => defineLayer(n, make));
  return layer;
};

/**
 * What a built-in op's implementation is told: the forward context and the runner's decisions (RunOptions),
 * every one of them settled.
 */
export interface ExecContext extends ForwardContext {
  readonly kernels: Kernels;
  /** Whether the pullback must give dx (false: it returns dx undefined). */
  readonly needInputGrad: boolean;
  /** Whether a pullback will be called at all (false: keep no caches; the pullback throws). */
  readonly needGrad: boolean;
}

/** A built-in op's forward as the runner calls it. */
export type OpRun = (params: Params, state: LayerState, x: Tensor, ctx: ExecContext) => ForwardResult;

/** What a built-in layer's constructor gives defineOp: a layer whose forward is an op implementation told by the runner. */
export interface OpLayerDefinition extends Omit<Layer, 'forward' | 'op' | 'body'> {
  readonly op: Op;
  readonly run: OpRun;
}

const opRuns = new WeakMap<Layer, OpRun>();

/**
 * Builds a built-in layer: its `op` says what it computes, and `run` is how a network's runner executes it (told
 * which kernels, whether dx and a pullback are needed). Called directly, its `forward` runs with the current backend,
 * dx and a pullback.
 *
 * @example defineOp('', (name) => ({ name, kind: 'relu', spec: { type: 'relu' }, op: { type: 'relu' }, ..., run: (p, s, x, ctx) => ... }))
 */
export const defineOp = (name: string, make: (name: string) => OpLayerDefinition): Layer => {
  const { run, ...made } = make(name);
  const layer: Layer = Object.freeze({
    ...made,
    spec: Object.freeze({ ...made.spec }),
    forward: (params: Params, state: LayerState, x: Tensor, ctx: ForwardContext) =>
      run(params, state, x, { mode: ctx.mode, key: ctx.key, kernels: kernels(), needInputGrad: true, needGrad: true }),
  });
  rebuilders.set(layer, (n) => defineOp(n, make));
  opRuns.set(layer, run);
  return layer;
};

/**
 * The op implementation of a built-in layer exactly as its constructor made it (not a copy with parts replaced):
 * only then does its `op` say what it computes.
 */
export const opRunOf = (layer: Layer): OpRun | undefined => opRuns.get(layer);

/**
 * The same layer under another name. Layers made by defineLayer are rebuilt; a user's own layer
 * object is copied with the new name (its closures keep whatever name they captured).
 *
 * @example renameLayer(relu(), 'act1').name // 'act1'
 */
export const renameLayer = (layer: Layer, name: string): Layer => {
  const rebuild = rebuilders.get(layer);
  return rebuild ? rebuild(name) : Object.freeze({ ...layer, name, spec: Object.freeze({ ...layer.spec, name }) });
};


/** Reads param `name` of a layer, throwing `affine1: missing param 'W'` when absent. */
export const getParam = (params: Params, name: string, layer: Layer | string): Tensor => {
  const t = params[name];
  if (t === undefined) {
    const label = typeof layer === 'string' ? layer : layerLabel(layer);
    throw new FoldnetError('value', `${label}: missing param '${name}' (have: ${Object.keys(params).join(', ') || 'none'})`);
  }
  return t;
};

/** `affine1` for a named layer, `affine` for an unnamed one: how errors refer to a layer. */
export const layerLabel = (layer: Layer): string => layer.name || layer.kind;

/** Throws unless x has a batch axis and the per-sample shape has rank `rank` (0 = any). */
export const expectBatchRank = (op: string, x: Tensor, rank: number, what: string): void => {
  if (x.shape.length < 1 || (rank > 0 && x.shape.length !== rank + 1)) {
    throw new FoldnetError('shape', `${op}: input ${formatShape(x.shape)} must be ${what}`);
  }
};

/** A positive integer hyper-parameter, or an error naming the layer kind and the value. */
export const positiveInt = (op: string, what: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new FoldnetError('value', `${op}: ${what} must be a positive integer, got ${String(v)}`);
  }
  return v;
};

/** A non-negative integer hyper-parameter (pad). */
export const nonNegativeInt = (op: string, what: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new FoldnetError('value', `${op}: ${what} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
};

/** `{ name }` when the user gave one, else nothing: keeps specs free of empty names. */
export const nameField = (name: string | undefined): { name?: string } => (name ? { name } : {});

/** Shorthand for per-sample shapes in messages. */
export const fmt = (s: Shape): string => formatShape(s);
