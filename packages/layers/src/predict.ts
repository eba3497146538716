import { alloc, FoldnetError, formatShape, fromData, resultScope, sameShape, sizeOf, sliceRows, type Kernels, type Tensor } from '@foldnet/core';
import { runLayer, scope } from './graph/run.js';
import type { LayerState, Network, Params } from './types.js';

/** Options of predict. */
export interface PredictOptions {
  /** Also return every layer's activation (for inspection and reports). */
  readonly trace?: boolean;
  /** Rows per forward pass, bounding memory (im2col of 10000 MNIST images is ~0.6 GB); default 500. */
  readonly batchSize?: number;
  /** Kernel set; default the current backend. */
  readonly kernels?: Kernels;
}

/** One layer's output in a trace. */
export interface Activation {
  readonly name: string;
  readonly kind: string;
  /** [N, ...the layer's output shape] */
  readonly y: Tensor;
}

/** predict's answer with `trace: true`. */
export interface Trace {
  /** [N, K] */
  readonly logits: Tensor;
  /** One entry per layer, in order; the last one's y is the logits. */
  readonly activations: readonly Activation[];
}

// Stacks tensors along the first axis: [n1, ...s] + [n2, ...s] -> [n1 + n2, ...s].
const concatRows = (parts: readonly Tensor[]): Tensor => {
  if (parts.length === 1) return parts[0];
  const inner = parts[0].shape.slice(1);
  const rows = parts.reduce((a, p) => a + p.shape[0], 0);
  const out = alloc(parts[0].dtype, rows * sizeOf(inner));
  let at = 0;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.size;
  }
  return fromData([rows, ...inner], out);
};

/**
 * The network's output in eval mode (dropout off, batch norm on running statistics): logits
 * [N, K] for x [N, ...inputShape], computed `batchSize` rows at a time. With `{ trace: true }`,
 * also every layer's activation.
 *
 * @example
 * const logits = predict(net, params, state, images);                  // [10000, 10]
 * const { activations } = predict(net, params, state, images.slice(0, 8), { trace: true });
 * activations[0].name; // 'conv1', y [8, 30, 24, 24]
 */
export function predict(net: Network, params: Params, state: LayerState, x: Tensor, opts?: PredictOptions & { readonly trace?: false }): Tensor;
export function predict(net: Network, params: Params, state: LayerState, x: Tensor, opts: PredictOptions & { readonly trace: true }): Trace;
export function predict(net: Network, params: Params, state: LayerState, x: Tensor, opts: PredictOptions = {}): Tensor | Trace {
  if (x.shape.length !== net.inputShape.length + 1 || !sameShape(x.shape.slice(1), net.inputShape)) {
    throw new FoldnetError('shape', `predict: input ${formatShape(x.shape)} does not match the network's input [N,${net.inputShape.join(',')}]`);
  }
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FoldnetError('value', `predict: batchSize must be a positive integer, got ${batchSize}`);
  // nothing differentiates a prediction: layers keep no caches (needGrad false)
  const ctx = { mode: 'eval', kernels: opts.kernels, needInputGrad: false, needGrad: false } as const;
  const N = x.shape[0];
  const chunks: Tensor[] = [];
  for (let start = 0; start < N || (N === 0 && start === 0); start += batchSize) chunks.push(sliceRows(x, start, Math.min(N, start + batchSize)));
  // each chunk's activations stay in the kernels' memory until its output is copied out (core's resultScope)
  if (!opts.trace) return concatRows(chunks.map((c) => resultScope(() => net.forward(params, state, c, ctx).y)));
  // layer by layer, keeping every output
  const perLayer: Tensor[][] = net.layers.map(() => []);
  for (const c of chunks) {
    const ys = resultScope(() => {
      let y = c;
      return net.layers.map((l) => (y = runLayer(l, scope(params, l.name), scope(state, l.name), y, ctx).y));
    });
    ys.forEach((y, i) => perLayer[i].push(y));
  }
  const activations = net.layers.map((l, i) => ({ name: l.name, kind: l.kind, y: concatRows(perLayer[i]) }));
  return { logits: activations.length ? activations[activations.length - 1].y : x, activations };
}
