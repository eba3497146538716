import { paramShapesOf, sizeOf, type Shape } from '@foldnet/core';
import { GRAPH_INPUT } from './graph/build.js';
import { summaryRows } from './summary.js';
import type { Network } from './types.js';

/*
 * What running a network will take, from its shape rules alone: nothing is allocated, so a command can refuse a
 * model or batch that cannot fit before the first typed array of it exists (an affine of 10^8 units, a batch of 10^9
 * images). The figures are a floor, not a forecast: they count the arrays a run cannot do without and leave out
 * what a kernel set adds (im2col matrices, packed copies, the fast set's WebAssembly memory).
 */

/** What a run does with the network: how many images go through it at once, and what it keeps. */
export interface MemoryUse {
  /** Images per forward (and backward): the batch size. */
  readonly batch: number;
  /** 4 for float32 (training, evaluation), 8 for float64 (gradient checks). */
  readonly bytesPerValue: number;
  /**
   * Param-sized arrays alive at once: 1 to run the network; to train, the params, their gradients and the new
   * params, and each optimizer slot twice (the state before and after the update): 3 + 2 x slots.
   */
  readonly paramCopies: number;
  /**
   * true for training (and gradient checks): every node's output is kept for the pullbacks, besides the gradient
   * flowing back at its widest. false for a forward alone: at most a node's input and output at a time.
   */
  readonly backward: boolean;
}

/** A network's memory for one use, in values and bytes. */
export interface MemoryNeeds {
  /** Trainable parameters. */
  readonly params: number;
  /** Values per image that the use keeps at once: see `MemoryUse.backward`. */
  readonly activationsPerImage: number;
  /** params x paramCopies x bytesPerValue. */
  readonly paramBytes: number;
  /** activationsPerImage x batch x bytesPerValue. */
  readonly activationBytes: number;
  readonly totalBytes: number;
  /** The largest single array the use needs: its name and its number of values (a typed array holds at most 2^32 - 1). */
  readonly largest: { readonly what: string; readonly values: number };
}

/**
 * The memory a network needs for one use, from its graph's shapes and its ops' param shape rules.
 *
 * @example
 * const m = memoryNeeds(unwrap(simpleConvNet()), { batch: 100, bytesPerValue: 4, paramCopies: 7, backward: true });
 * m.params; // 433,890
 * m.totalBytes; // ~28 MB: 12 MB of params, gradients and Adam's moments, 16 MB of activations
 */
export const memoryNeeds = (net: Network, use: MemoryUse): MemoryNeeds => {
  const { nodes } = net.graph;
  const shapeOf = (i: number): Shape => (i === GRAPH_INPUT ? net.inputShape : (nodes[i]?.shape ?? []));
  const params = summaryRows(net).reduce((a, r) => a + (r.depth === 0 ? r.params : 0), 0);
  const inputValues = sizeOf(net.inputShape);
  // the widest value a node reads or writes, and what it is
  let widest = { what: 'the input', values: inputValues };
  let kept = inputValues;
  let widestStep = inputValues;
  let largestParam = { what: '', values: 0 };
  for (const node of nodes) {
    const out = sizeOf(node.shape);
    kept += out;
    if (out > widest.values) widest = { what: `the output of ${node.name}`, values: out };
    widestStep = Math.max(widestStep, out + node.inputs.reduce((a, i) => a + sizeOf(shapeOf(i)), 0));
    const shapes = paramShapesOf(node.op, shapeOf(node.inputs[0] ?? GRAPH_INPUT));
    for (const [name, shape] of Object.entries(shapes?.params ?? {})) {
      if (sizeOf(shape) > largestParam.values) largestParam = { what: `parameter ${node.name}.${name}`, values: sizeOf(shape) };
    }
  }
  const activationsPerImage = use.backward ? kept + widest.values : widestStep;
  const batchWidest = { what: `${widest.what} for a batch of ${use.batch}`, values: widest.values * use.batch };
  const paramBytes = params * use.paramCopies * use.bytesPerValue;
  const activationBytes = activationsPerImage * use.batch * use.bytesPerValue;
  return {
    params,
    activationsPerImage,
    paramBytes,
    activationBytes,
    totalBytes: paramBytes + activationBytes,
    largest: largestParam.values > batchWidest.values ? largestParam : batchWidest,
  };
};
