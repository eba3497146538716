import { convGeometry, FoldnetError, formatShape, fromData, fusedKernelsOf, sameShape, type BatchNormOp, type Conv2dGrads, type Conv2dOp, type Pool2dOp, type Tensor } from '@foldnet/core';
import { batchNormForward, batchNormOperands } from '../batchnorm.js';
import { convGrads, convOperands } from '../conv.js';
import type { ExecContext } from '../layer.js';
import type { Gradients, LayerState, Params } from '../types.js';
import { consumersOf, GRAPH_INPUT, type Graph } from './build.js';

/*
 * Fusion: chains of graph nodes run as one kernel call, found by pattern over the op graph (never by layer
 * names or specs). The nodes themselves stay as they are (names, params, specs, summaries, ONNX export and
 * the layer-by-layer NaN replay all see every node); only the execution changes, through kernels the
 * contract specifies as equal to the composition, so the values and gradients are those of the nodes run
 * one by one (tested bit for bit against their composition). Only a backend with fused kernels (`kernels.fused`:
 * the fast set) runs them; the reference interprets one op at a time. `RunOptions.fuse: false` turns it off.
 *
 * Three fusions of a chain: conv2d -> relu -> maxPool2d without padding (the lesson's stage), where a CNN's step
 * spends its memory traffic: the convolution's output, the largest activation, would otherwise be copied out of the
 * fast kernels' memory, through ReLU, into pooling, and its gradient back the same way; conv2d -> relu without
 * the pool (a 3x3 block's first convolution), the bias and ReLU in one pass; and batchNorm -> relu (a ResNet's
 * conv-BN-ReLU), ReLU in the normalisation's pass and its mask in the backward's. A chain fuses only where each
 * inner value has one reader and is not the graph's output: nobody else needs what the fused kernel never writes.
 * One fusion of a merge: add -> relu (a residual block's end), ReLU in the sum's pass (`reluAfterAdd`). And for a
 * forward nobody differentiates in evaluation, conv2d -> batchNorm (-> relu) runs as one convolution with the batch
 * norm folded into its weights (`foldedBatchNormAt`): the same values up to float32 rounding, not bit for bit.
 * Where the add's first input is a batch norm (batchNorm -> add -> relu, a residual block's end), the sum and ReLU run
 * in the batch norm's pass, or, folded, in the convolution's stores (`residualEndAt`): the batch norm's output is
 * never written for the sum to read it back; in the pullback ReLU's mask runs in batch norm's backward, which keeps the
 * masked dy for the shortcut.
 */

/** What a fused chain's forward gives: its output, its first node's new state (batch norm's) and its pullback. */
export interface FusedForward {
  readonly y: Tensor;
  /** The first node's state after the forward, when it has one. */
  readonly state?: LayerState;
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
  forward(params: Params, x: Tensor, ctx: ExecContext, state: LayerState): FusedForward;
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
 * relu (2 nodes: the bias and ReLU in the convolution's own pass), or batchNorm, relu (2 nodes).
 *
 * @example
 * fusedRunAt(unwrap(simpleConvNet()).graph, 0); // { length: 3, nodes: [0, 1, 2], forward } for conv1, relu1, pool1
 */
export const fusedRunAt = (graph: Graph, i: number, readers = consumersOf(graph)): FusedRun | undefined => {
  const conv = graph.nodes[i];
  if (conv !== undefined && conv.op.type === 'batchNorm' && conv.inputs[0] !== undefined) return batchNormReluAt(graph, i, conv.op, readers);
  if (conv === undefined || conv.op.type !== 'conv2d' || conv.inputs[0] === undefined) return undefined;
  const r = soleReader(graph, readers, i);
  if (r === undefined || graph.nodes[r].op.type !== 'relu') return undefined;
  const p = soleReader(graph, readers, r);
  const poolOp = p === undefined ? undefined : graph.nodes[p].op;
  const pool = poolOp !== undefined && poolOp.type === 'maxPool2d' && poolOp.pad === 0 ? poolOp : undefined;
  const nodes = pool !== undefined && p !== undefined ? [i, r, p] : [i, r];
  return { length: nodes.length, nodes, forward: fusedForward(conv.name, conv.op, pool, pool === undefined ? '' : graph.nodes[nodes[2]].name) };
};

// batchNorm -> relu: the normalisation and ReLU in one pass, the mask in the backward's passes (batchNormForward with relu)
const batchNormReluAt = (graph: Graph, i: number, op: BatchNormOp, readers: readonly (readonly number[])[]): FusedRun | undefined => {
  const r = soleReader(graph, readers, i);
  if (r === undefined || graph.nodes[r].op.type !== 'relu') return undefined;
  const label = graph.nodes[i].name;
  return {
    length: 2,
    nodes: [i, r],
    forward: (params, x, ctx, state) => {
      const f = batchNormForward(label, op, params, state, x, ctx, 'relu');
      return { y: f.y, state: f.state, pullback: f.pullback };
    },
  };
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
      return { dx: r.dx, grads: convGrads(label, r, bias) };
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

/**
 * Whether node `i` is an add merge whose one reader is a ReLU: the ReLU node then runs in the sum's pass (the fused
 * addRelu), and its pullback masks dy once for every input. Gives the ReLU's node.
 *
 * @example reluAfterAdd(unwrap(resnet()).graph, 8) // 9: res1.add, then relu2
 */
export const reluAfterAdd = (graph: Graph, i: number, readers = consumersOf(graph)): number | undefined => {
  if (graph.nodes[i]?.op.type !== 'add') return undefined;
  const r = soleReader(graph, readers, i);
  return r !== undefined && graph.nodes[r].op.type === 'relu' ? r : undefined;
};

/** A convolution with the batch norm after it (and the ReLU after that) folded in, for evaluation without gradients. */
export interface FoldedBatchNorm {
  /** conv2d, batchNorm (and relu) node indices; the last one's value is the output. */
  readonly nodes: readonly number[];
  /**
   * The chain's output for input x, from the convolution's params and the batch norm's params and running statistics;
   * with an `addend` (a residual end's shortcut, for the chain conv2d, batchNorm) relu(chain + addend), conv2dAddRelu.
   */
  forward(convParams: Params, bnParams: Params, bnState: LayerState, x: Tensor, ctx: ExecContext, addend?: Tensor): Tensor;
}

/**
 * The conv2d at node `i` with the batchNorm that alone reads it, and the relu that alone reads that if one does, as one
 * convolution for evaluation: with s = gamma / sqrt(var + eps) per filter (the running statistics), W' = W s and
 * b' = (b - mean) s + beta give s (conv(x) + b - mean) + beta, batch norm's eval output; the ReLU then runs in the
 * convolution's pass (conv2dRelu). The scaled weights are rounded to float32, so values differ from the unfolded
 * chain's in the last bits.
 *
 * @example foldedBatchNormAt(unwrap(resnet()).graph, 0)?.nodes // [0, 1, 2]: conv1, bn1, relu1
 */
export const foldedBatchNormAt = (graph: Graph, i: number, readers = consumersOf(graph)): FoldedBatchNorm | undefined => {
  const conv = graph.nodes[i];
  if (conv === undefined || conv.op.type !== 'conv2d' || conv.inputs[0] === undefined) return undefined;
  const convOp = conv.op;
  const bn = soleReader(graph, readers, i);
  const bnOp = bn === undefined ? undefined : graph.nodes[bn].op;
  if (bn === undefined || bnOp === undefined || bnOp.type !== 'batchNorm') return undefined;
  const r = soleReader(graph, readers, bn);
  const relu = r !== undefined && graph.nodes[r].op.type === 'relu' ? r : undefined;
  const [convLabel, bnLabel] = [conv.name, graph.nodes[bn].name];
  // The last fold and the operands it came from (five without a conv bias): an evaluation runs batch after batch with
  // the same params and state, and tensors are never written, so the same buffers mean the same folded weights (the plan's own state).
  let last: { readonly from: readonly Tensor[]; readonly W: Tensor; readonly b: Tensor } | undefined;
  return {
    nodes: relu === undefined ? [i, bn] : [i, bn, relu],
    forward: (convParams, bnParams, bnState, x, ctx, addend) => {
      const hasBias = convOp.bias !== false;
      const { W, b, g } = convOperands(convLabel, convParams, x, convOp.stride, convOp.pad, hasBias);
      const FN = W.shape[0];
      const { gamma, beta, runMean, runVar } = batchNormOperands(bnLabel, bnParams, bnState, [x.shape[0], FN, g.outH, g.outW]);
      // without a bias, b is a fresh zeros tensor each call: not an operand the fold depends on
      const from = hasBias ? [W, b, gamma, beta, runMean, runVar] : [W, gamma, beta, runMean, runVar];
      if (last === undefined || !from.every((t, k) => t.data === last?.from[k].data)) {
        const perFilter = W.size / FN;
        const [w2, b2] = [new Float64Array(W.size), new Float64Array(FN)];
        for (let f = 0; f < FN; f++) {
          const s = gamma.data[f] / Math.sqrt(runVar.data[f] + bnOp.eps);
          for (let k = f * perFilter; k < (f + 1) * perFilter; k++) w2[k] = W.data[k] * s;
          b2[f] = (b.data[f] - runMean.data[f]) * s + beta.data[f];
        }
        last = W.dtype === 'float64'
          ? { from, W: fromData(W.shape, w2), b: fromData([FN], b2) }
          : { from, W: fromData(W.shape, Float32Array.from(w2)), b: fromData([FN], Float32Array.from(b2)) };
      }
      if (addend === undefined) return relu === undefined ? ctx.kernels.conv2dOut(x, last.W, last.b, g) : fusedKernelsOf(ctx.kernels).conv2dRelu(x, last.W, last.b, g);
      const outShape = [x.shape[0], FN, g.outH, g.outW];
      if (!sameShape(addend.shape, outShape) || addend.dtype !== x.dtype) {
        throw new FoldnetError('shape', `${bnLabel}: output ${formatShape(outShape)} ${x.dtype} and the shortcut ${formatShape(addend.shape)} ${addend.dtype} added to it must agree in shape and dtype`);
      }
      return fusedKernelsOf(ctx.kernels).conv2dAddRelu(x, last.W, last.b, g, addend);
    },
  };
};

/**
 * A residual block's end: an add of two inputs whose first is a batch norm that nothing else reads, and the ReLU that
 * alone reads the sum. The batch norm's pass adds the shortcut (the second input) and applies ReLU as it stores
 * (batchNormAddRelu); in evaluation without gradients, where the batch norm folds into the convolution before it, that
 * convolution's stores do (conv2dAddRelu). Both run when the add's turn comes, the shortcut then computed. The sum keeps
 * the merge's order, batch norm's value first. The pullback is one kernel too (batchNormAddReluBackward, equal to the
 * merge's and the batch norm's as unfused): ReLU's mask in batch norm's backward, the masked dy given to both inputs.
 */
export interface ResidualEnd {
  /** The batch norm whose value is the add's first input, and its op. */
  readonly bn: number;
  readonly bnOp: BatchNormOp;
  /** The ReLU that alone reads the sum; its value is the end's output. */
  readonly relu: number;
  /** The convolution before the batch norm, folded with it (nodes conv2d, batchNorm), where the batch norm alone reads it. */
  readonly folded?: FoldedBatchNorm;
}

/**
 * The residual end whose add is node `i`, if it is one (see ResidualEnd).
 *
 * @example residualEndAt(unwrap(resnet()).graph, 8) // { bn: 7, bnOp, relu: 9, folded: { nodes: [6, 7], ... } }: res1.bn2, relu2, res1.conv2
 */
export const residualEndAt = (graph: Graph, i: number, readers = consumersOf(graph)): ResidualEnd | undefined => {
  const add = graph.nodes[i];
  if (add?.op.type !== 'add' || add.inputs.length !== 2) return undefined;
  const relu = reluAfterAdd(graph, i, readers);
  const [bn, shortcut] = add.inputs;
  if (relu === undefined || bn === GRAPH_INPUT || bn === shortcut || bn === graph.output || readers[bn].length !== 1) return undefined;
  const { op: bnOp, inputs: [conv] } = graph.nodes[bn];
  if (bnOp.type !== 'batchNorm' || conv === undefined) return undefined;
  const folded = conv === GRAPH_INPUT ? undefined : foldedBatchNormAt(graph, conv, readers);
  return folded?.nodes.length === 2 ? { bn, bnOp, relu, folded } : { bn, bnOp, relu };
};
