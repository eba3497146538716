import { FoldnetError, formatShape, sameShape, type Key, type Shape, type Tensor } from '@foldnet/core';
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { buildGraph, shapeAt, shapeErrorOf } from './graph/build.js';
import { initGraph, planOf, runGraph } from './graph/run.js';
import { defaultLoss, type Loss } from './losses.js';
import { nameLayers } from './naming.js';
import type { InitOptions, Layer, LayerState, Network, Params, RunOptions, ShapeError, Targets } from './types.js';

/*
 * Networks. A list of layers is named (lesson style: conv1, relu1, pool1, affine1, ...), expanded into a
 * graph of ops (composite layers place their own nodes) whose every shape is checked before any data
 * exists, and run by that graph: forward in topological order, pullbacks in reverse.
 */

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
  const named = nameLayers(layers);
  if (isLeft(named)) {
    const l = layers[named.left.index];
    return left(shapeErrorOf({ path: l.name, kind: l.kind, top: named.left.index, inputShapes: [inputShape], expected: named.left.expected }));
  }
  const ls = named.right;
  const ends: number[] = []; // the node each top-level layer ends at
  const built = buildGraph(inputShape, (b, input) => {
    let at = input;
    for (const [i, l] of ls.entries()) {
      const r = b.layer(l, { path: l.name, keyPath: [i], initPath: [{ index: i, count: ls.length }], top: i }, at);
      if (isLeft(r)) return r;
      at = r.right;
      ends.push(at);
    }
    return right(at);
  });
  if (isLeft(built)) return left(shapeErrorOf(built.left));
  const graph = built.right;
  const plan = planOf(graph);
  const layerShapes = ends.map((i) => shapeAt(graph, i));
  const input = graph.inputShape;
  return right(
    Object.freeze({
      layers: Object.freeze(ls),
      inputShape: input,
      layerShapes: Object.freeze(layerShapes),
      outputShape: shapeAt(graph, graph.output),
      spec: Object.freeze({ input, layers: ls.map((l) => l.spec) }),
      graph,
      init: (k: Key, opts: InitOptions = {}) => initGraph(graph, k, opts),
      forward: (params: Params, state: LayerState, x: Tensor, opts: RunOptions) => {
        if (x.shape.length !== input.length + 1 || !sameShape(x.shape.slice(1), input)) {
          throw new FoldnetError('shape', `network: input ${formatShape(x.shape)} does not match the network's input [N,${input.join(',')}]`);
        }
        return runGraph(graph, plan, params, state, x, { ...opts, needInputGrad: opts.needInputGrad ?? false });
      },
    }),
  );
};

/** What one training step needs from a network. */
export interface LossAndGrad {
  /** The loss over the batch (by default the mean softmax cross-entropy). */
  readonly loss: number;
  /** The network's output [N, K]. */
  readonly logits: Tensor;
  /** dL/dparam for every param, named as the params. */
  readonly grads: Params;
  /** The state after this forward (batch norm's running statistics in train mode). */
  readonly state: LayerState;
}

/**
 * Forward, the loss against `targets` (labels [N] or one-hot [N, K]) and backward, in one call. The
 * first layer's input gradient is not computed. `ctx` defaults to train mode; networks with dropout need
 * `ctx.key` (a fresh one per step). `loss` defaults to the lesson's softmax cross-entropy (`defaultLoss`).
 *
 * @example
 * const { loss, grads } = lossAndGrad(net, params, state, xBatch, labels, { mode: 'train', key: stepKey });
 * lossAndGrad(net, params, state, xBatch, labels, { mode: 'train' }, crossEntropy({ smoothing: 0.1 }));
 */
export const lossAndGrad = (
  net: Network,
  params: Params,
  state: LayerState,
  x: Tensor,
  targets: Targets,
  opts: RunOptions = { mode: 'train' },
  loss: Loss = defaultLoss,
): LossAndGrad => {
  const r = net.forward(params, state, x, opts);
  if (r.y.shape.length !== 2) {
    throw new FoldnetError('shape', `lossAndGrad: the network's output ${formatShape(r.y.shape)} must be logits [N, K]`);
  }
  const { loss: value, dlogits } = loss.apply(r.y, targets);
  return { loss: value, logits: r.y, grads: r.pullback(dlogits).grads, state: r.state };
};
