import { convGeometry, FoldnetError, fusedKernelsOf, type Conv2dGrads, type Conv2dOp, type Pool2dOp, type Tensor } from '@foldnet/core';
import { convOperands } from '../conv.js';
import type { ExecContext } from '../layer.js';
import type { Gradients, Params } from '../types.js';
import { consumersOf, type Graph } from './build.js';

/*
 * Fusion: chains of graph nodes run as one kernel call, found by pattern over the op graph (never by layer
 * names or specs). The nodes themselves stay as they are (names, params, specs, summaries, ONNX export and
 * the layer-by-layer NaN replay all see every node); only the execution changes, through kernels the
 * contract specifies as equal to the composition, so the values and gradients are those of the nodes run
 * one by one (tested bit for bit against their composition). Only a backend with fused kernels (`kernels.fused`:
 * the fast set) runs them; the reference interprets one op at a time. `RunOptions.fuse: false` turns it off.
 *
 * Two fusions: conv2d -> relu -> maxPool2d without padding (the lesson's stage), where a CNN's step spends its
 * memory traffic: the convolution's output, the largest activation, would otherwise be copied out of the fast
 * kernels' memory, through ReLU, into pooling, and its gradient back the same way; and conv2d -> relu without
 * the pool (a 3x3 block's first convolution), the bias and ReLU in one pass. A chain fuses only where each
 * inner value has one reader and is not the graph's output: nobody else needs what the fused kernel never writes.
 */

/** What a fused chain's forward gives: its output and its pullback. */
export interface FusedForward {
  readonly y: Tensor;
  /** dy -> { dx, grads } with the grads of the chain's first node (the convolution), named as it names them (`W`, `b`). */
  readonly pullback: (dy: Tensor) => Gradients;
}

/** A chain of nodes that runs as one operation; `forward` takes the params of its first node. */
export interface FusedRun {
  /** How many nodes it stands for. */
  readonly length: number;
  /** The chain's node indices, first to last; the last one's value is the chain's output. */
  readonly nodes: readonly number[];
  /** The chain's output for input x, and its pullback: dy -> the input gradient and the grads of the first node. */
  forward(params: Params, x: Tensor, ctx: ExecContext): FusedForward;
}

/**
 * The node that alone reads node `i`'s value, if exactly one does and `i` is not the graph's output.
 *
 * @example soleReader(graph, consumersOf(graph), 0) // 1 for conv1 -> relu1
 */
export const soleReader = (graph: Graph, readers: readonly (readonly number[])[], i: number): number | undefined =>
  i !== graph.output && readers[i].length === 1 && graph.nodes[readers[i][0]].inputs.length === 1 ? readers[i][0] : undefined;

/**
 * The fused chain starting at node `i`, if one does: conv2d, relu, maxPool2d with pad 0 (3 nodes), else conv2d,
 * relu (2 nodes: the bias and ReLU in the convolution's own pass).
 *
 * @example
 * fusedRunAt(unwrap(simpleConvNet()).graph, 0); // { length: 3, nodes: [0, 1, 2], forward } for conv1, relu1, pool1
 */
export const fusedRunAt = (graph: Graph, i: number, readers = consumersOf(graph)): FusedRun | undefined => {
  const conv = graph.nodes[i];
  if (conv === undefined || conv.op.type !== 'conv2d' || conv.inputs[0] === undefined) return undefined;
  const r = soleReader(graph, readers, i);
  if (r === undefined || graph.nodes[r].op.type !== 'relu') return undefined;
  const p = soleReader(graph, readers, r);
  const poolOp = p === undefined ? undefined : graph.nodes[p].op;
  const pool = poolOp !== undefined && poolOp.type === 'maxPool2d' && poolOp.pad === 0 ? poolOp : undefined;
  const nodes = pool !== undefined && p !== undefined ? [i, r, p] : [i, r];
  return { length: nodes.length, nodes, forward: fusedForward(conv.name, conv.op, pool, pool === undefined ? '' : graph.nodes[nodes[2]].name) };
};

const fusedForward = (label: string, conv: Conv2dOp, pool: Pool2dOp | undefined, poolLabel: string): FusedRun['forward'] => (params, x, ctx) => {
  const bias = conv.bias !== false;
  const { W, b, g } = convOperands(label, params, x, conv.stride, conv.pad, bias);
  const k = fusedKernelsOf(ctx.kernels);
  const { needGrad, needInputGrad: needDx } = ctx;
  const done = (y: Tensor, back: (dy: Tensor) => Conv2dGrads): FusedForward => ({
    y,
    pullback: (dy: Tensor): Gradients => {
      if (!needGrad) throw new FoldnetError('value', `${label}: pullback called on a forward run with needGrad false`);
      const r = back(dy);
      const grads: Gradients['grads'] = bias ? { W: r.dw, b: r.db } : { W: r.dw };
      return { dx: r.dx, grads };
    },
  });
  if (pool === undefined) {
    const out = k.conv2dRelu(x, W, b, g);
    return done(out, (dy) => k.conv2dReluBackward(dy, out, x, W, g, needDx));
  }
  const pg = convGeometry(poolLabel, { inH: g.outH, inW: g.outW, filterH: pool.size, stride: pool.stride, pad: 0 });
  const { out, argmax } = k.conv2dReluMaxPool(x, W, b, g, pg, needGrad);
  const convShape = [x.shape[0], W.shape[0], g.outH, g.outW];
  return done(out, (dy) => k.conv2dReluMaxPoolBackward(dy, out, argmax, x, W, g, convShape, needDx));
};

/**
 * Whether node `i` is a ReLU whose one reader is a max pooling without padding: a forward nobody differentiates
 * may then pool first and apply ReLU after (the same values: ReLU is monotone, and the first NaN of a window
 * stays NaN either way) on a quarter of the elements for a 2x2 pool, one large array fewer.
 */
export const poolsBeforeRelu = (graph: Graph, i: number, readers = consumersOf(graph)): number | undefined => {
  if (graph.nodes[i]?.op.type !== 'relu') return undefined;
  const p = soleReader(graph, readers, i);
  if (p === undefined) return undefined;
  const op = graph.nodes[p].op;
  return op.type === 'maxPool2d' && op.pad === 0 ? p : undefined;
};
