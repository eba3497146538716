import { FoldnetError, foldIn, formatShape, sameShape, split, type Key, type Shape, type Tensor } from '@foldnet/core';
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { fusedRunAt, isSpec, type FusedRun } from './fusion.js';
import { defineLayer, nameField, renameLayer } from './layer.js';
import { softmaxCrossEntropy } from './loss.js';
import type {
  ForwardContext,
  ForwardResult,
  Gradients,
  InitOptions,
  Layer,
  LayerState,
  Network,
  Params,
  ShapeError,
  Targets,
} from './types.js';

/*
 * Composition. A list of layers is named (lesson style: conv1, relu1, pool1, affine1, ...),
 * shape-checked layer by layer, and run as one pipeline whose params and state are records
 * keyed `<layer>.<name>`. Backward applies the pullbacks in reverse.
 */

// Name prefixes by kind, as the lesson names its layers (Conv1, Relu1, Pool1, Affine1).
const PREFIX: Readonly<Record<string, string>> = {
  conv2d: 'conv',
  maxPool2d: 'pool',
  avgPool2d: 'pool',
  batchNorm: 'bn',
  sequential: 'seq',
};

/** The auto-name prefix of a kind: `conv2d` -> `conv`, `affine` -> `affine`. */
export const namePrefix = (kind: string): string => PREFIX[kind] ?? kind;

const shapeError = (layerIndex: number, layer: Layer, inputShape: Shape, expected: string): ShapeError => ({
  _tag: 'ShapeError',
  layerIndex,
  layerName: layer.name,
  inputShape,
  expected,
  message: `layer ${layerIndex} (${layer.name || layer.kind}: ${layer.kind}): input ${formatShape(inputShape)}, expected ${expected}`,
});

/**
 * Gives every unnamed layer a name: the kind's prefix and a counter per prefix (conv1, relu1,
 * pool1, affine1, relu2, affine2; conv1x1_1 for a kind ending in a digit), skipping names the user took. Names must be unique and free of '.'.
 */
const nameLayers = (inputShape: Shape, layers: readonly Layer[]): Either<ShapeError, Layer[]> => {
  const taken = new Set<string>();
  for (const [i, l] of layers.entries()) {
    if (!l.name) continue;
    if (l.name.includes('.')) return left(shapeError(i, l, inputShape, `a layer name without '.', got '${l.name}'`));
    if (taken.has(l.name)) return left(shapeError(i, l, inputShape, `a unique layer name, '${l.name}' is used twice`));
    taken.add(l.name);
  }
  const counters = new Map<string, number>();
  const named: Layer[] = [];
  for (const l of layers) {
    if (l.name) {
      named.push(l);
      continue;
    }
    const prefix = namePrefix(l.kind);
    // a kind ending in a digit gets a separator, so `conv1x1` numbers as conv1x1_1, not conv1x11
    const stem = /\d$/.test(prefix) ? `${prefix}_` : prefix;
    let n = counters.get(prefix) ?? 0;
    let name: string;
    do name = `${stem}${++n}`;
    while (taken.has(name));
    counters.set(prefix, n);
    taken.add(name);
    named.push(renameLayer(l, name));
  }
  return right(named);
};

/** Per-sample output shape of each layer, or the first layer that refuses its input. */
const inferShapes = (inputShape: Shape, layers: readonly Layer[]): Either<ShapeError, Shape[]> => {
  const shapes: Shape[] = [];
  let s = inputShape;
  for (const [i, l] of layers.entries()) {
    const out = l.outputShape(s);
    if (isLeft(out)) return left(shapeError(i, l, s, out.left.expected));
    s = out.right;
    shapes.push(s);
  }
  return right(shapes);
};

/** The entries of a record under `prefix.`, with the prefix removed: scope({ "conv1.W": w }, "conv1") = { W: w }. */
export const scope = (record: Readonly<Record<string, Tensor>>, prefix: string): Record<string, Tensor> => {
  const out: Record<string, Tensor> = {};
  const p = `${prefix}.`;
  for (const [k, v] of Object.entries(record)) if (k.startsWith(p)) out[k.slice(p.length)] = v;
  return out;
};

const prefixed = (record: Readonly<Record<string, Tensor>>, prefix: string, into: Record<string, Tensor>): void => {
  for (const [k, v] of Object.entries(record)) into[`${prefix}.${k}`] = v;
};

const initLayers = (layers: readonly Layer[], shapes: readonly Shape[], inputShape: Shape, k: Key, opts: InitOptions) => {
  const params: Record<string, Tensor> = {};
  const state: Record<string, Tensor> = {};
  const keys = split(k, Math.max(layers.length, 1));
  layers.forEach((l, i) => {
    const r = l.init(keys[i], i === 0 ? inputShape : shapes[i - 1], opts);
    prefixed(r.params, l.name, params);
    prefixed(r.state, l.name, state);
  });
  return { params: Object.freeze(params), state: Object.freeze(state) };
};

/** One forward step of a run: a layer, or a fused run of layers (`first`..`last`) that returns the grads of `owner`. */
interface Stage {
  readonly first: number;
  readonly owner: string;
  readonly pullback: ForwardResult['pullback'];
}

/**
 * Runs named layers in order. Pullbacks are applied in reverse, and only down to the layer that
 * needs them: when `needInputGrad` is false, the layers before the first one with params are not
 * differentiated at all and that layer skips its input gradient (nobody needs dL/dx). Runs of
 * layers with a fused form (fusion.ts) execute as one operation unless `ctx.fuse` is false.
 */
/** The fused run starting at each layer, if any: found once per network, not on every forward. */
const fusionPlan = (layers: readonly Layer[]): readonly (FusedRun | undefined)[] => layers.map((_, i) => fusedRunAt(layers, i));

const runLayers = (
  layers: readonly Layer[],
  plan: readonly (FusedRun | undefined)[],
  params: Params,
  state: LayerState,
  x: Tensor,
  ctx: ForwardContext,
): ForwardResult => {
  const needInputGrad = ctx.needInputGrad ?? true;
  const scoped = layers.map((l) => ({ params: scope(params, l.name), state: scope(state, l.name) }));
  let from = 0; // the first layer whose pullback runs
  if (!needInputGrad) {
    from = scoped.findIndex((s) => Object.keys(s.params).length > 0);
    if (from < 0) from = layers.length;
  }
  const stages: Stage[] = [];
  const newState: Record<string, Tensor> = {};
  let y = x;
  const sub = (i: number): ForwardContext => ({
    ...ctx,
    key: ctx.key === undefined ? undefined : foldIn(ctx.key, i),
    needInputGrad: needInputGrad || i > from,
  });
  const run = (i: number): void => {
    const l = layers[i];
    const r = l.forward(scoped[i].params, scoped[i].state, y, sub(i));
    prefixed(r.state, l.name, newState);
    stages.push({ first: i, owner: l.name, pullback: r.pullback });
    y = r.y;
  };
  for (let i = 0; i < layers.length; i++) {
    const fused = ctx.fuse === false ? undefined : plan[i];
    if (fused !== undefined) {
      const at = i + fused.paramsOf;
      const r = fused.forward(scoped[at].params, y, sub(at));
      stages.push({ first: i, owner: layers[at].name, pullback: r.pullback });
      y = r.y;
      i += fused.length - 1;
    } else if (ctx.needGrad === false && i + 1 < layers.length && isSpec(layers[i], 'relu') && isSpec(layers[i + 1], 'maxPool2d') && layers[i + 1].spec.pad === 0) {
      // Nobody differentiates this forward, so ReLU then max pooling (without padding: every window holds
      // pixels) runs as pooling then ReLU: the same values (ReLU is monotone, and the first NaN of a window
      // stays NaN either way) on a quarter of the elements for the lesson's 2x2 pool, one large array fewer.
      run(i + 1);
      run(i);
      i++;
    } else {
      run(i);
    }
  }
  const pullback = (dy: Tensor): Gradients => {
    if (ctx.needGrad === false) throw new FoldnetError('value', 'backward: pullback called on a forward run with needGrad false');
    const grads: Record<string, Tensor> = {};
    let d: Tensor | undefined = dy;
    for (let s = stages.length - 1; s >= 0 && stages[s].first >= from; s--) {
      if (d === undefined) throw new FoldnetError('value', `backward: layer ${stages[s + 1]?.owner ?? s + 1} gave no input gradient`);
      const g: Gradients = stages[s].pullback(d);
      prefixed(g.grads, stages[s].owner, grads);
      d = g.dx;
    }
    return { dx: needInputGrad ? d : undefined, grads: Object.freeze(grads) };
  };
  return { y, state: Object.freeze(newState), pullback };
};

/**
 * Builds a network: names the layers, checks every shape from `inputShape` (per sample, e.g.
 * [1, 28, 28]) to the output, and returns the first refusal as a ShapeError.
 *
 * @example
 * const net = network([1, 28, 28], [conv2d({ filters: 30, size: 5 }), relu(), maxPool2d({ size: 2 }),
 *   affine(100), relu(), affine(10)]);
 * // right(net): net.layers[0].name === 'conv1', net.outputShape = [10]
 * network([1, 3, 3], [conv2d({ filters: 2, size: 5 })]);
 * // left: "layer 0 (conv1: conv2d): input [1,3,3], expected spatial size at least 5x5 (filter 5x5, pad 0)"
 */
export const network = (inputShape: Shape, layers: readonly Layer[]): Either<ShapeError, Network> => {
  const named = nameLayers(inputShape, layers);
  if (isLeft(named)) return named;
  const ls = named.right;
  const plan = fusionPlan(ls);
  const shapes = inferShapes(inputShape, ls);
  if (isLeft(shapes)) return shapes;
  const layerShapes = shapes.right;
  const outputShape = layerShapes.length ? layerShapes[layerShapes.length - 1] : inputShape;
  const input = Object.freeze([...inputShape]);
  return right(
    Object.freeze({
      layers: Object.freeze(ls),
      inputShape: input,
      layerShapes: Object.freeze(layerShapes),
      outputShape,
      spec: Object.freeze({ input, layers: ls.map((l) => l.spec) }),
      init: (k: Key, opts: InitOptions = {}) => initLayers(ls, layerShapes, input, k, opts),
      forward: (params: Params, state: LayerState, x: Tensor, ctx: ForwardContext) => {
        if (x.shape.length !== input.length + 1 || !sameShape(x.shape.slice(1), input)) {
          throw new FoldnetError('shape', `network: input ${formatShape(x.shape)} does not match the network's input [N,${input.join(',')}]`);
        }
        return runLayers(ls, plan, params, state, x, { ...ctx, needInputGrad: ctx.needInputGrad ?? false });
      },
    }),
  );
};

/**
 * Several layers as one layer (kind 'sequential'): shapes are inferred through them, params are
 * named `<inner>.<param>` inside it (so `seq1.conv1.W` in a network). Unnamed inner layers are
 * named as in a network.
 *
 * @example
 * const block = sequential(conv2d({ filters: 16, size: 3, pad: 1 }), relu());
 * network([1, 28, 28], [block, maxPool2d({ size: 2 }), affine(10)]);
 */
export const sequential = (...layers: Layer[]): Layer => {
  const named = nameLayers([], layers);
  if (isLeft(named)) throw new FoldnetError('value', `sequential: ${named.left.expected}`);
  const ls = named.right;
  const plan = fusionPlan(ls);
  return defineLayer('', (name) => ({
    name,
    kind: 'sequential',
    spec: { type: 'sequential', ...nameField(name), layers: ls.map((l) => l.spec) },
    outputShape: (inShape) => {
      const shapes = inferShapes(inShape, ls);
      if (isLeft(shapes)) return left({ expected: `a shape every inner layer accepts (${shapes.left.message})` });
      return right(shapes.right.length ? shapes.right[shapes.right.length - 1] : inShape);
    },
    init: (k, inShape, opts = {}) => {
      const shapes = inferShapes(inShape, ls);
      if (isLeft(shapes)) throw new FoldnetError('shape', `${name || 'sequential'}: ${shapes.left.message}`);
      return initLayers(ls, shapes.right, inShape, k, opts);
    },
    forward: (params, state, x, ctx) => runLayers(ls, plan, params, state, x, ctx),
  }));
};

/** What one training step needs from a network. */
export interface LossAndGrad {
  /** Mean softmax cross-entropy over the batch. */
  readonly loss: number;
  /** The network's output [N, K]. */
  readonly logits: Tensor;
  /** dL/dparam for every param, named as the params. */
  readonly grads: Params;
  /** The state after this forward (batch norm's running statistics in train mode). */
  readonly state: LayerState;
}

/**
 * Forward, softmax cross-entropy against `targets` (labels [N] or one-hot [N, K]) and backward,
 * in one call. The first layer's input gradient is not computed. `ctx` defaults to train mode;
 * networks with dropout need `ctx.key` (a fresh one per step).
 *
 * @example
 * const { loss, grads } = lossAndGrad(net, params, state, xBatch, labels, { mode: 'train', key: stepKey });
 */
export const lossAndGrad = (
  net: Network,
  params: Params,
  state: LayerState,
  x: Tensor,
  targets: Targets,
  ctx: ForwardContext = { mode: 'train' },
): LossAndGrad => {
  const r = net.forward(params, state, x, ctx);
  if (r.y.shape.length !== 2) {
    throw new FoldnetError('shape', `lossAndGrad: the network's output ${formatShape(r.y.shape)} must be logits [N, K]`);
  }
  const { loss, dlogits } = softmaxCrossEntropy(r.y, targets);
  return { loss, logits: r.y, grads: r.pullback(dlogits).grads, state: r.state };
};
