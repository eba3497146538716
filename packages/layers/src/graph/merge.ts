import { alloc, FoldnetError, formatShape, fromData, fusedKernelsOf, sameShape, type Kernels, type MergeOp, type Tensor } from '@foldnet/core';

/*
 * The merges a graph runs itself: add and concat of batches [N, ...]. Pure: fresh outputs, inputs untouched.
 */

/** A merge's forward: its output and the pullback giving one gradient per input. */
export interface MergeResult {
  readonly y: Tensor;
  readonly pullback: (dy: Tensor) => readonly Tensor[];
}

/**
 * Checks an add merge's inputs: one shape and one dtype, else a FoldnetError naming the merge and what came in.
 *
 * @example checkAddInputs('res1.add', [a, b])
 */
export const checkAddInputs = (label: string, xs: readonly Tensor[]): void => {
  const [first] = xs;
  for (const x of xs) {
    if (!sameShape(x.shape, first.shape) || x.dtype !== first.dtype) {
      throw new FoldnetError('shape', `${label}: inputs ${xs.map((t) => `${formatShape(t.shape)} ${t.dtype}`).join(' and ')} must agree in shape and dtype`);
    }
  }
};

/**
 * The pullback of y = relu(x1 + ... + xn) as one merge: dy masked where y <= 0 once, the same gradient for each of n inputs.
 *
 * @example maskedForEach(kernels(), y, 2)(dy) // [masked, masked]
 */
const maskedForEach = (k: Kernels, y: Tensor, n: number) => (dy: Tensor): readonly Tensor[] => {
  const masked = k.reluBackward(y, dy);
  return Array.from({ length: n }, () => masked);
};

/**
 * y = x1 + x2 + ... (one shape), through the kernels' add: dy flows unchanged to every input. With `relu` (the plan
 * fused the ReLU that alone reads the sum) y = relu(x1 + ...), the last sum and ReLU in one pass (addRelu), and the
 * pullback masks dy where y <= 0 once for all inputs.
 */
const add = (label: string, xs: readonly Tensor[], k: Kernels, relu: boolean): MergeResult => {
  checkAddInputs(label, xs);
  const [first] = xs;
  // summed in input order, element by element: the same bits whatever the backend (a merge has two inputs or more)
  const last = xs[xs.length - 1];
  let sum = first;
  for (const x of xs.slice(1, -1)) sum = k.add(sum, x);
  if (!relu) return { y: k.add(sum, last), pullback: (dy) => xs.map(() => dy) };
  const y = fusedKernelsOf(k).addRelu(sum, last);
  return { y, pullback: maskedForEach(k, y, xs.length) };
};

/** [N, C1, ...] and [N, C2, ...] -> [N, C1 + C2, ...]; the pullback cuts dy back along axis 1. */
const concat = (label: string, xs: readonly Tensor[]): MergeResult => {
  const [first] = xs;
  const N = first.shape[0];
  const rest = first.shape.slice(2);
  for (const x of xs) {
    if (x.shape.length !== first.shape.length || x.shape[0] !== N || !sameShape(x.shape.slice(2), rest) || x.dtype !== first.dtype) {
      throw new FoldnetError('shape', `${label}: inputs ${xs.map((t) => formatShape(t.shape)).join(' and ')} must differ only in axis 1`);
    }
  }
  // per sample, each input contributes a contiguous block of C_i * (inner size) values
  const blocks = xs.map((x) => x.size / Math.max(N, 1));
  const row = blocks.reduce((a, b) => a + b, 0);
  const channels = xs.reduce((a, x) => a + x.shape[1], 0);
  const out = alloc(first.dtype, N * row);
  let at = 0;
  xs.forEach((x, k) => {
    for (let n = 0; n < N; n++) for (let e = 0; e < blocks[k]; e++) out[n * row + at + e] = x.data[n * blocks[k] + e];
    at += blocks[k];
  });
  const shape = [N, channels, ...rest];
  return {
    y: fromData(shape, out),
    pullback: (dy) => {
      let from = 0;
      return xs.map((x, k) => {
        const dx = alloc(dy.dtype, x.size);
        for (let n = 0; n < N; n++) for (let e = 0; e < blocks[k]; e++) dx[n * blocks[k] + e] = dy.data[n * row + from + e];
        from += blocks[k];
        return fromData(x.shape, dx);
      });
    },
  };
};

/**
 * Runs a merge op on a batch of inputs with kernel set `k`; `relu` (add only): the ReLU that alone reads the sum runs
 * in the same pass (see fusion.ts' reluAfterAdd).
 *
 * @example runMerge({ type: 'add' }, 'res1.add', [a, b], kernels()).y // a + b
 */
export const runMerge = (op: MergeOp, label: string, xs: readonly Tensor[], k: Kernels, relu = false): MergeResult =>
  op.type === 'add' ? add(label, xs, k, relu) : concat(label, xs);
